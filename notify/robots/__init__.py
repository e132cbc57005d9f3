"""Group robots of the government editions of WeCom (企业微信) and DingTalk (钉钉): their
documented JSON webhooks, one module each, on a shared HTTP poster (:mod:`.post`)."""
