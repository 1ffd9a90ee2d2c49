"""首页 for every role: 公告消息 (announcements and messages to my organisation) and 待办."""

from __future__ import annotations

from flask import redirect, url_for
from flask_appbuilder import IndexView, expose
from sqlalchemy import select

from app.engine import notify, policy


class HomeView(IndexView):
    index_template = "engine/home.html"

    @expose("/")
    def index(self):
        actor = policy.current_actor()
        if actor is None:
            return redirect(url_for(self.appbuilder.sm.auth_view.__class__.__name__ + ".login"))
        session = self.appbuilder.session
        notices = session.scalars(
            select(notify.Notice)
            .where(policy.scope(notify.Notice, actor))
            .order_by(notify.Notice.published_at.desc(), notify.Notice.id.desc())
            .limit(10)
        ).all()
        todo = notify.todo_counts(session, actor)
        return self.render_template(self.index_template, appbuilder=self.appbuilder,
                                    notices=notices, todo=todo, actor=actor)
