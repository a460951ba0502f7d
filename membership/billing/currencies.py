"""The currencies this site can charge in: Stripe's, with two decimal places.

Amounts are entered in major units and sent to Stripe times 100 (`to_minor`), which is right
only for currencies with two decimals. Stripe's zero-decimal currencies (JPY: 25 means 25 yen)
and three-decimal ones (KWD) would be charged 100 or 10 times off, so they are refused, as are
codes Stripe does not know (Stripe would refuse every checkout in them).
"""


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Stripe's presentment currencies (docs.stripe.com/currencies), lower case.
STRIPE_CURRENCIES = _codes(
    """
    usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp
    byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip
    gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt
    lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr
    nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd
    std szl thb tjs tnd top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar
    zmw
    """
)
ZERO_DECIMAL = _codes("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf")
THREE_DECIMAL = _codes("bhd jod kwd omr tnd")
# Stripe takes ISK amounts with two decimals but only whole krónur: 25.50 would be refused.
WHOLE_UNITS_ONLY = frozenset({"isk"})


def currency_problem(code: str) -> str | None:
    """Why `code` (any case) cannot be the site currency, or None if it can."""
    code = code.strip().lower()
    if code not in STRIPE_CURRENCIES:
        return f"{code.upper()} is not a currency Stripe can charge in."
    if code in ZERO_DECIMAL | THREE_DECIMAL | WHOLE_UNITS_ONLY:
        return (
            f"{code.upper()} is not supported here: amounts on this site have two decimal places."
        )
    return None
