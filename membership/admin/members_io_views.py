"""Admin routes: export members as CSV (streamed) and import them (preview, then confirm)."""

import base64
import binascii
import zlib

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length

from membership.admin.blueprint import bp
from membership.admin.members import live_filters
from membership.admin.members_csv import EXPORT_ONLY, NEW_MEMBERS_ONLY, csv_lines
from membership.admin.members_io import (
    ImportRefused,
    apply_import,
    export_rows,
    filtered_members_query,
    parse_import,
)
from membership.audit import record
from membership.auth.decorators import recent_login_required
from membership.extensions import db
from membership.models.types import utcnow

PREVIEW_ROWS = 500


class ImportUploadForm(FlaskForm):
    file = FileField(
        "CSV file",
        validators=[FileRequired("Choose a CSV file.")],
        description="UTF-8 CSV with a header row; an export from this page's Export link works.",
        render_kw={"accept": ".csv,text/csv"},
    )


class ImportConfirmForm(FlaskForm):
    # The previewed file, compressed and base64-encoded (exact bytes: a textarea would turn
    # line breaks into CRLF), and the fingerprint of the previewed plan.
    payload = HiddenField(validators=[DataRequired()])
    fingerprint = HiddenField(validators=[DataRequired(), Length(min=64, max=64)])


def _max_bytes() -> int:
    return current_app.config.get("MAX_CONTENT_LENGTH") or 1024 * 1024


def _pack(text: str) -> str:
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")


def _unpack(payload: str) -> str | None:
    """The text of a payload, or None if it is damaged or would be larger than an upload."""
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(base64.b64decode(payload, validate=True), _max_bytes() + 1)
        if len(data) > _max_bytes() or not inflater.eof:
            return None
        return data.decode("utf-8")
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError):
        return None


def _uploaded_text(form: ImportUploadForm) -> str | None:
    """The uploaded file as text; a problem goes on the file field."""
    data = form.file.data.read(_max_bytes() + 1)
    if len(data) > _max_bytes():
        form.file.errors.append(
            f"The file is larger than {_max_bytes() // 1024} KB. "
            "Use `flask --app app members import FILE` for bigger files."
        )
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        form.file.errors.append("The file is not UTF-8 text. Save it as CSV (UTF-8).")
        return None


@bp.route("/members/export.csv")
def members_export():
    """The members the list's filters select, as CSV, streamed batch by batch."""
    filters = live_filters(request.args)
    filters.pop("sort", None)  # the export is in sign-up (id) order
    query = filtered_members_query(filters)
    record(current_user, "members.export", target_type="members", filters=filters)
    db.session.commit()
    response = Response(stream_with_context(csv_lines(export_rows(query))), mimetype="text/csv")
    filename = f"members-{utcnow():%Y%m%d-%H%M%S}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/members/import", methods=["GET", "POST"])
@recent_login_required  # an import can suspend and ban, like the bulk actions
def members_import():
    """Upload a CSV for a dry run; the preview's confirm button imports the same file."""
    upload, confirm = ImportUploadForm(), ImportConfirmForm()
    plan, payload, problems, notices = None, None, [], []
    if request.method == "POST" and "payload" in request.form:
        text = _unpack(confirm.payload.data or "") if confirm.validate_on_submit() else None
        if text is None:
            problems.append("The preview could not be read back. Upload the file again.")
        else:
            plan, payload = parse_import(text, actor=current_user), confirm.payload.data
            if plan.ok and plan.fingerprint() != confirm.fingerprint.data:
                notices.append(
                    "The members changed since the preview. Check this preview and confirm again."
                )
            elif plan.ok:
                try:
                    counts = apply_import(plan, current_user)
                except ImportRefused as exc:
                    db.session.rollback()
                    problems.append(str(exc))
                else:
                    db.session.commit()
                    flash(
                        f"Imported: {counts['create']} new, {counts['update']} updated, "
                        f"{counts['unchanged']} unchanged.",
                        "success",
                    )
                    return redirect(url_for("admin.members_import"))
    elif request.method == "POST" and upload.validate_on_submit():
        text = _uploaded_text(upload)
        if text is not None:
            plan, payload = parse_import(text, actor=current_user), _pack(text)
    can_confirm = plan is not None and plan.ok and not problems
    limit = current_app.config.get("MAX_FORM_MEMORY_SIZE") or 500_000
    if can_confirm and len(payload) > limit - 1024:
        problems.append(
            "This file is too large to confirm from the browser. "
            "Use `flask --app app members import FILE`."
        )
        can_confirm = False
    if can_confirm:
        confirm = ImportConfirmForm(formdata=None, payload=payload, fingerprint=plan.fingerprint())
    failed = problems or notices or upload.errors or (plan is not None and not plan.ok)
    return render_template(
        "admin/members_import.html",
        upload=upload,
        confirm=confirm,
        plan=plan,
        problems=problems,
        notices=notices,
        can_confirm=can_confirm,
        preview_rows=PREVIEW_ROWS,
        export_only=EXPORT_ONLY,
        new_members_only=NEW_MEMBERS_ONLY,
    ), 422 if failed else 200
