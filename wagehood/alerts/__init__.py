"""Alert rules and signal delivery: the condition grammar, rule and channel models, payload
formats, signing and URL checks. Pure standard library; storage and HTTP live in
``wagehood.service.alert_rules`` and ``wagehood.service.delivery``.
"""
