"""Portal page URLs of ``accounts``."""
from accounts import token_urls

app_name = "accounts"
urlpatterns = [*token_urls.urlpatterns]
