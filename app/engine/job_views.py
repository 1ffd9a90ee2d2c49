"""我的任务: the background jobs a user started (app/engine/jobs.py) — progress, result file,
errors, 重新运行 — and the JSON a page polls for a job's progress bar."""

from __future__ import annotations

import io

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_appbuilder import BaseView, expose
from sqlalchemy import select

from . import jobs, policy
from .i18n import gettext as _


def _session():
    return current_app.appbuilder.session


def _own_job(actor, job_id: int) -> jobs.Job:
    """The actor's job, or a 404 (another user's job is answered as one that does not exist)."""
    job = _session().get(jobs.Job, job_id)
    if job is None or job.user_id != actor.user_id:
        abort(404)
    return job


def _signed_in(f):
    import functools

    @functools.wraps(f)
    def wrapper(self, *args, **kwargs):
        actor = policy.current_actor()
        if actor is None or actor.user_id is None:
            if request.path.endswith("/status"):
                return jsonify({"message": _("请先登录")}), 401
            return redirect(url_for(current_app.appbuilder.sm.auth_view.__class__.__name__
                                    + ".login", next=request.url))
        return f(self, actor, *args, **kwargs)

    return wrapper


class JobView(BaseView):
    route_base = "/jobs"
    default_view = "index"

    @expose("/")
    @_signed_in
    def index(self, actor):
        app = current_app._get_current_object()
        rows = _session().scalars(select(jobs.Job).where(jobs.Job.user_id == actor.user_id)
                                  .order_by(jobs.Job.id.desc()).limit(200)).all()
        return render_template("engine/jobs.html", appbuilder=current_app.appbuilder,
                               jobs=[jobs.snapshot(app, j) for j in rows], one=None)

    @expose("/<int:job_id>")
    @_signed_in
    def show(self, actor, job_id):
        job = _own_job(actor, job_id)
        return render_template("engine/jobs.html", appbuilder=current_app.appbuilder,
                               jobs=[jobs.snapshot(current_app, job)], one=job)

    @expose("/<int:job_id>/status")
    @_signed_in
    def status(self, actor, job_id):
        return jsonify(jobs.snapshot(current_app, _own_job(actor, job_id)))

    @expose("/<int:job_id>/result")
    @_signed_in
    def result(self, actor, job_id):
        job = _own_job(actor, job_id)
        if job.status != jobs.DONE or not job.result_name:
            abort(404)
        return send_file(io.BytesIO(job.result), mimetype=job.result_mime,
                         as_attachment=True, download_name=job.result_name)

    @expose("/<int:job_id>/rerun", methods=["POST"])
    @_signed_in
    def rerun(self, actor, job_id):
        _own_job(actor, job_id)
        if jobs.rerun(_session(), job_id, actor):
            flash(_("任务已重新排队"), "success")
        else:
            flash(_("只有失败或已中断的任务可以重新运行"), "warning")
        return redirect(url_for("JobView.show", job_id=job_id))
