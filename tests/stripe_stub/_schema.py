"""What each endpoint accepts, nested keys included, and the limits Stripe puts on values.

A schema maps a parameter to `None` (a value: string, number, boolean, or a list of them),
`ANY` (accepted, its inside not described here), a dict (an object with exactly these keys) or
a one-element list (an array of such objects). Stripe refuses a key it does not know at any
depth ("Received unknown parameter: line_items[0][bogus]"), and so does the stand-in.

Every request is also checked, at any depth, for Stripe's value limits: metadata (50 keys,
keys of 40 characters, values of 500), currencies (Stripe's list), and amounts
(`amount`, `unit_amount`: at most 99,999,999 in the currency's minor unit).
"""

from __future__ import annotations

from typing import Any

from ._util import StripeError, pname

ANY = object()
MAX_AMOUNT = 99_999_999
AMOUNT_KEYS = ("amount", "unit_amount")
METADATA_KEYS, METADATA_KEY_LENGTH, METADATA_VALUE_LENGTH = 50, 40, 500


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Stripe's presentment currencies (docs.stripe.com/currencies), lower case as the API writes them.
CURRENCIES = _codes(
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


def _keys(*names: str, **nested: Any) -> dict[str, Any]:
    return {**dict.fromkeys(names), **nested}


CREATED = _keys("gt", "gte", "lt", "lte")
LIST = _keys("limit", "starting_after", "ending_before", "expand")
RETRIEVE = _keys("expand")
RECURRING = _keys("interval", "interval_count", "usage_type", "meter", "trial_period_days")
PRODUCT_DATA = _keys(
    "name", "description", "images", "tax_code", "unit_label", "statement_descriptor",
    metadata=ANY,
)  # fmt: skip
PRICE_DATA = _keys(
    "currency", "product", "tax_behavior", "unit_amount", "unit_amount_decimal",
    product_data=PRODUCT_DATA, recurring=RECURRING,
)  # fmt: skip
CUSTOM_UNIT_AMOUNT = _keys("enabled", "maximum", "minimum", "preset")
CUSTOMER = _keys(
    "balance", "coupon", "description", "email", "invoice_prefix", "name",
    "next_invoice_sequence", "payment_method", "phone", "preferred_locales", "promotion_code",
    "source", "tax_exempt", "test_clock", "default_source",
    address=ANY, cash_balance=ANY, invoice_settings=ANY, metadata=ANY, shipping=ANY, tax=ANY,
    tax_id_data=ANY, expand=None,
)  # fmt: skip
PRODUCT = _keys(
    "active", "default_price", "description", "id", "images", "name", "shippable",
    "statement_descriptor", "tax_code", "type", "unit_label", "url", "expand",
    default_price_data=_keys(
        "currency", "tax_behavior", "unit_amount", "unit_amount_decimal",
        currency_options=ANY, recurring=RECURRING, custom_unit_amount=CUSTOM_UNIT_AMOUNT,
    ),
    marketing_features=[_keys("name")], metadata=ANY, package_dimensions=ANY,
)  # fmt: skip
PRICE = _keys(
    "active", "billing_scheme", "currency", "lookup_key", "nickname", "product",
    "tax_behavior", "tiers_mode", "transfer_lookup_key", "unit_amount", "unit_amount_decimal",
    "expand",
    currency_options=ANY, custom_unit_amount=CUSTOM_UNIT_AMOUNT, metadata=ANY,
    product_data=PRODUCT_DATA, recurring=RECURRING, tiers=ANY, transform_quantity=ANY,
)  # fmt: skip
SESSION_LINE_ITEM = _keys(
    "price", "quantity", "tax_rates", "dynamic_tax_rates",
    price_data=_keys(
        "currency", "product", "tax_behavior", "unit_amount", "unit_amount_decimal",
        product_data=PRODUCT_DATA, recurring=_keys("interval", "interval_count"),
    ),
    adjustable_quantity=_keys("enabled", "maximum", "minimum"), metadata=ANY,
)  # fmt: skip
SESSION = _keys(
    "allow_promotion_codes", "billing_address_collection", "cancel_url", "client_reference_id",
    "currency", "customer", "customer_creation", "customer_email", "expires_at", "locale",
    "mode", "payment_method_collection", "payment_method_configuration", "payment_method_types",
    "redirect_on_completion", "return_url", "submit_type", "success_url", "ui_mode", "expand",
    adaptive_pricing=ANY, after_expiration=ANY, automatic_tax=ANY, branding_settings=ANY,
    consent_collection=ANY, custom_fields=ANY, custom_text=ANY, customer_update=ANY,
    discounts=ANY, invoice_creation=ANY, name_collection=ANY, optional_items=ANY,
    origin_context=ANY, payment_method_data=ANY, payment_method_options=ANY, permissions=ANY,
    phone_number_collection=ANY, saved_payment_method_options=ANY, setup_intent_data=ANY,
    shipping_address_collection=ANY, shipping_options=ANY, tax_id_collection=ANY,
    wallet_options=ANY, metadata=ANY,
    line_items=[SESSION_LINE_ITEM],
    payment_intent_data=_keys(
        "application_fee_amount", "capture_method", "description", "on_behalf_of",
        "receipt_email", "setup_future_usage", "statement_descriptor",
        "statement_descriptor_suffix", "transfer_group",
        metadata=ANY, shipping=ANY, transfer_data=ANY,
    ),
    subscription_data=_keys(
        "application_fee_percent", "billing_cycle_anchor", "default_tax_rates", "description",
        "on_behalf_of", "proration_behavior", "trial_end", "trial_period_days",
        billing_mode=ANY, invoice_settings=ANY, metadata=ANY, transfer_data=ANY,
        trial_settings=ANY,
    ),
)  # fmt: skip
SUBSCRIPTION_ITEM = _keys(
    "id", "price", "quantity", "deleted", "clear_usage", "tax_rates",
    price_data=_keys(
        "currency", "product", "tax_behavior", "unit_amount", "unit_amount_decimal",
        recurring=_keys("interval", "interval_count"),
    ),
    billing_thresholds=ANY, discounts=ANY, metadata=ANY,
)  # fmt: skip
SUBSCRIPTION_UPDATE = _keys(
    "application_fee_percent", "billing_cycle_anchor", "cancel_at", "cancel_at_period_end",
    "collection_method", "days_until_due", "default_payment_method", "default_source",
    "default_tax_rates", "description", "off_session", "on_behalf_of", "payment_behavior",
    "proration_behavior", "proration_date", "trial_end", "trial_from_plan", "expand",
    add_invoice_items=ANY, automatic_tax=ANY, billing_thresholds=ANY,
    cancellation_details=_keys("comment", "feedback"), discounts=ANY, invoice_settings=ANY,
    items=[SUBSCRIPTION_ITEM], metadata=ANY, pause_collection=ANY, payment_settings=ANY,
    pending_invoice_item_interval=ANY, transfer_data=ANY, trial_settings=ANY,
)  # fmt: skip
PREVIEW = _keys(
    "currency", "customer", "on_behalf_of", "preview_mode", "schedule", "subscription",
    "expand",
    automatic_tax=ANY, customer_details=ANY, discounts=ANY, invoice_items=ANY, issuer=ANY,
    schedule_details=ANY,
    subscription_details=_keys(
        "billing_cycle_anchor", "cancel_at", "cancel_at_period_end", "cancel_now",
        "default_tax_rates", "proration_behavior", "proration_date", "resume_at", "start_date",
        "trial_end",
        items=[SUBSCRIPTION_ITEM],
    ),
)  # fmt: skip

# fmt: off
SCHEMAS: dict[str, dict[str, Any]] = {
    "customers_list": _keys("email", "test_clock", created=CREATED, **LIST),
    "customers_create": CUSTOMER,
    "customers_retrieve": RETRIEVE,
    "customers_update": CUSTOMER,
    "customers_delete": {},
    "products_list": _keys("active", "ids", "shippable", "url", created=CREATED, **LIST),
    "products_create": PRODUCT,
    "products_retrieve": RETRIEVE,
    "products_update": {k: v for k, v in PRODUCT.items() if k not in ("id", "type")},
    "prices_list": _keys(
        "active",
        "currency",
        "lookup_keys",
        "product",
        "type",
        created=CREATED,
        recurring=_keys("interval", "meter", "usage_type"),
        **LIST,
    ),
    "prices_create": PRICE,
    "prices_retrieve": RETRIEVE,
    "prices_update": _keys(
        "active",
        "lookup_key",
        "nickname",
        "tax_behavior",
        "transfer_lookup_key",
        "expand",
        currency_options=ANY,
        metadata=ANY,
    ),
    "sessions_list": _keys(
        "customer",
        "payment_intent",
        "payment_link",
        "status",
        "subscription",
        created=CREATED,
        customer_details=_keys("email"),
        **LIST,
    ),
    "sessions_create": SESSION,
    "sessions_retrieve": RETRIEVE,
    "sessions_line_items": LIST,
    "sessions_expire": RETRIEVE,
    "subscriptions_list": _keys(
        "collection_method",
        "customer",
        "price",
        "status",
        "test_clock",
        automatic_tax=_keys("enabled"),
        created=CREATED,
        current_period_end=CREATED,
        current_period_start=CREATED,
        **LIST,
    ),
    "subscriptions_retrieve": RETRIEVE,
    "subscriptions_update": SUBSCRIPTION_UPDATE,
    "subscriptions_cancel": _keys(
        "invoice_now", "prorate", "expand", cancellation_details=_keys("comment", "feedback")
    ),
    "invoices_list": _keys(
        "collection_method",
        "customer",
        "status",
        "subscription",
        created=CREATED,
        due_date=CREATED,
        **LIST,
    ),
    "invoices_preview": PREVIEW,
    "invoices_retrieve": RETRIEVE,
    "portal_create": _keys(
        "customer",
        "return_url",
        "configuration",
        "locale",
        "on_behalf_of",
        "expand",
        flow_data=ANY,
    ),
    "events_list": _keys(
        "type",
        "types",
        "delivery_success",
        created=CREATED,
        **LIST,
    ),
    "events_retrieve": RETRIEVE,
    "payment_intents_retrieve": _keys("client_secret", "expand"),
    "charges_list": _keys("customer", "payment_intent", "transfer_group", created=CREATED, **LIST),
    "charges_retrieve": RETRIEVE,
    "refunds_create": _keys(
        "amount",
        "charge",
        "payment_intent",
        "reason",
        "instructions_email",
        "refund_application_fee",
        "reverse_transfer",
        "currency",
        "customer",
        "origin",
        "expand",
        metadata=ANY,
    ),
    "refunds_retrieve": RETRIEVE,
    "disputes_retrieve": RETRIEVE,
}
# fmt: on


def _unknown(name: str) -> StripeError:
    return StripeError(f"Received unknown parameter: {name}", code="parameter_unknown", param=name)


def check_shape(params: dict[str, Any], schema: dict[str, Any], prefix: str = "") -> None:
    """Refuse any key the schema does not know, at any depth."""
    for key, value in params.items():
        name = pname(prefix, key)
        if key not in schema:
            raise _unknown(name)
        spec = schema[key]
        if spec is ANY or value == "":  # "" unsets a field, whatever its type
            continue
        if spec is None:
            if isinstance(value, dict):
                raise _unknown(pname(name, next(iter(value), "")))
        elif isinstance(spec, list):
            if not isinstance(value, list):
                raise StripeError("Invalid array", code="parameter_invalid_array", param=name)
            for index, element in enumerate(value):
                if not isinstance(element, dict):
                    raise StripeError(
                        "Invalid object", code="parameter_invalid_object", param=f"{name}[{index}]"
                    )
                check_shape(element, spec[0], f"{name}[{index}]")
        elif not isinstance(value, dict):
            raise StripeError("Invalid object", code="parameter_invalid_object", param=name)
        else:
            check_shape(value, spec, name)


def check_values(value: Any, name: str = "") -> None:
    """Stripe's limits on metadata, currencies and amounts, wherever they appear."""
    if isinstance(value, list):
        for index, element in enumerate(value):
            check_values(element, f"{name}[{index}]")
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        param = pname(name, key)
        if key == "metadata" and isinstance(item, dict):
            _check_metadata(item, param)
        elif key == "currency" and item not in (None, ""):
            _check_currency(item, param)
        elif key == "currency_options" and isinstance(item, dict):
            for code in item:
                _check_currency(code, pname(param, code))
            check_values(item, param)
        elif key in AMOUNT_KEYS and str(item).lstrip("-").isdigit() and int(item) > MAX_AMOUNT:
            raise StripeError(
                f"This value must be less than or equal to {MAX_AMOUNT} "
                "(the amount in the currency's smallest unit).",
                code="amount_too_large",
                param=param,
            )
        else:
            check_values(item, param)


def _check_currency(code: Any, param: str) -> None:
    if str(code) not in CURRENCIES:
        raise StripeError(
            f"Invalid currency: {code}. Stripe currently supports these currencies: "
            + ", ".join(sorted(CURRENCIES)),
            code="parameter_invalid_string",
            param=param,
        )


def _check_metadata(metadata: dict[str, Any], param: str) -> None:
    if len(metadata) > METADATA_KEYS:
        raise StripeError(
            f"Invalid {param}: metadata can have at most {METADATA_KEYS} keys.", param=param
        )
    for key, value in metadata.items():
        if len(key) > METADATA_KEY_LENGTH:
            raise StripeError(
                f"Invalid {param}: metadata keys can be at most {METADATA_KEY_LENGTH} "
                f"characters long ({key[:20]}... is {len(key)}).",
                param=pname(param, key),
            )
        if isinstance(value, dict | list):
            raise StripeError(
                f"Invalid {param}: metadata values must be strings.", param=pname(param, key)
            )
        if len(str(value)) > METADATA_VALUE_LENGTH:
            raise StripeError(
                f"Invalid {param}: metadata values can be at most {METADATA_VALUE_LENGTH} "
                f"characters long ({key} is {len(str(value))}).",
                param=pname(param, key),
            )
