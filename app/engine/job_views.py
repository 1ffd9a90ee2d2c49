"""我的任务: the background jobs a user started (app/engine/jobs.py) — progress, result file,
errors, 重新运行 — the JSON a page polls for a job's progress bar, and the same for API
clients: ``GET /api/v1/job/<id>`` and ``GET /api/v1/job/<id>/result``."""

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
from flask_appbuilder.api import BaseApi, safe
from flask_appbuilder.api import expose as api_expose
from flask_appbuilder.security.decorators import permission_name, protect
from sqlalchemy import select

from . import jobs, policy
from .i18n import gettext as _
from .rest_refusals import LocalRefusals


def _session():
    return current_app.appbuilder.session


def _own_job(actor, job_id: int) -> jobs.Job:
    """The actor's job, or a 404 (another user's job is answered as one that does not exist)."""
    job = _find(job_id)
    if job is None or job.user_id != actor.user_id:
        abort(404)
    return job


def _find(job_id) -> jobs.Job | None:
    pk = policy.parse_id(job_id)  # a number no id can be (…/jobs/99999999999999999999) is none
    return _session().get(jobs.Job, pk) if pk is not None else None


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


def api_status(job: jobs.Job) -> dict:
    """A job as the API shows it: the screen's snapshot with the addresses to follow."""
    status = jobs.snapshot(current_app, job)
    status["status_url"] = f"/api/v1/job/{job.id}"
    status["result_url"] = f"/api/v1/job/{job.id}/result" if status["result"] else None
    return status


class JobApi(LocalRefusals, BaseApi):
    """The jobs an API call started (a batch print above PRINT_INLINE_RECORDS answers 202 with
    one): its progress and, once done, its file.  A user's own jobs only; another's is a 404."""

    resource_name = "job"
    openapi_spec_tag = "job"
    allow_browser_login = False

    def _own(self, job_id: int) -> jobs.Job | None:
        actor = policy.current_actor()
        job = _find(job_id)
        if actor is None or job is None or job.user_id != actor.user_id:
            return None
        return job

    @api_expose("/<int:job_id>", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def status(self, job_id):
        """A job's progress.
        ---
        get:
          parameters:
          - {in: path, name: job_id, required: true, schema: {type: integer}}
          responses:
            200: {description: "status (queued, running, done, failed, stale), done/total,
              message, result_url once there is a file"}
            404: {description: no such job of this user}
        """
        job = self._own(job_id)
        if job is None:
            return self.response(404, message=_("没有这个任务"))
        return self.response(200, **api_status(job))

    @api_expose("/<int:job_id>/result", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def result(self, job_id):
        """The file a finished job made.
        ---
        get:
          parameters:
          - {in: path, name: job_id, required: true, schema: {type: integer}}
          responses:
            200: {description: the file}
            404: {description: no such job of this user, or no file (yet)}
        """
        job = self._own(job_id)
        if job is None or job.status != jobs.DONE or not job.result_name:
            return self.response(404, message=_("没有这个任务的结果文件"))
        return send_file(io.BytesIO(job.result), mimetype=job.result_mime,
                         as_attachment=True, download_name=job.result_name)
