from django.apps import AppConfig


class FaqConfig(AppConfig):
    name = "faq"
    verbose_name = "FAQ"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # helpdesk must not import faq, so faq listens for inquiry saves (docs/faq.md) and
        # registers its handover record type here.
        from django.db.models.signals import post_save

        from faq import handover, signals
        from helpdesk.models import Inquiry

        post_save.connect(signals.inquiry_saved, sender=Inquiry, dispatch_uid="faq.inquiry_saved")
        handover.register()
