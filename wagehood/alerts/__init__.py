"""Alert rules and signal delivery: the condition grammar, rule and notification-channel
models, payload formats, signing and URL checks (the system's own health alerts are
``wagehood.service.health_alerts``). Pure standard library; storage and HTTP live in
``wagehood.service.alert_rules`` and ``wagehood.service.delivery``.
"""
