from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "fakeco.orders"
    label = "billing"
