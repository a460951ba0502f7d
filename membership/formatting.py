"""Template filters for money and dates."""

SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$", "chf": "CHF "}
ZERO_DECIMAL = {"jpy", "krw", "vnd", "clp", "isk", "huf", "twd", "ugx"}


def money(amount_minor: int | None, currency: str = "usd") -> str:
    """12345, "usd" -> "$123.45"; whole amounts drop the cents ("$5")."""
    currency = (currency or "usd").lower()
    amount_minor = amount_minor or 0
    if currency in ZERO_DECIMAL:
        text = f"{amount_minor:,}"
    else:
        major = amount_minor / 100
        text = f"{major:,.0f}" if amount_minor % 100 == 0 else f"{major:,.2f}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


def register(app) -> None:
    app.add_template_filter(money, "money")
