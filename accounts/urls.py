"""Portal page URLs of ``accounts``."""
from accounts import notification_urls, token_urls

app_name = "accounts"
urlpatterns = [*token_urls.urlpatterns, *notification_urls.urlpatterns]
