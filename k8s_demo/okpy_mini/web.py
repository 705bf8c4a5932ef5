"""The web tier: take submissions, put them on the queue, show how the grading is going.

Routes
  GET  /                  status: plain text for curl, HTML for a browser (by the Accept header)
  GET  /status            the same status as JSON
  POST /submit            one submission (JSON or form) -> 202 with its id
  GET  /submissions/<id>  queued, started, finished (with the score) or failed
  POST /demo/flood?n=50   enqueue n sample submissions, to watch the workers at work
                          (&wait=8: then wait 8 s, and say how many are still queued and how many workers there are)
  GET  /healthz           liveness: the process answers
  GET  /readyz            readiness: Redis answers too (503 if not)

Served by gunicorn in the image: gunicorn ... okpy_mini.web:app
"""
import json
import logging
import time
import uuid

import redis
from flask import Flask, abort, jsonify, redirect, render_template, request, url_for
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job

from . import grading, settings

MAX_FLOOD = 1000
MAX_FLOOD_WAIT = 20  # seconds, well inside gunicorn's 30-second worker timeout
MAX_ANSWER_CHARS = 500

# The plain-text status, one "key: value" per line, in this order (the deck matches it).
STATUS_FIELDS = ("version", "pod", "redis", "queue", "workers", "submitted", "graded")


def create_app(redis_url=None, version=None, pod=None) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024  # small bodies never spill into temporary files
    app.logger.setLevel(logging.INFO)
    conn = settings.connect(redis_url or settings.redis_url(), fail_fast=True)
    queue = Queue(settings.QUEUE, connection=conn)
    version = version or settings.app_version()
    pod = pod or settings.pod_name()

    def status() -> dict:
        info = {"version": version, "pod": pod}
        try:
            with conn.pipeline(transaction=False) as pipe:
                pipe.get(grading.SUBMITTED)
                pipe.get(grading.GRADED)
                submitted, graded = pipe.execute()
            info.update(redis="ok", queue=queue.count, workers=Worker.count(queue=queue),
                        submitted=int(submitted or 0), graded=int(graded or 0))
        except redis.RedisError:
            info.update(redis="unreachable", queue=None, workers=None, submitted=None, graded=None)
        return info

    def wants_html() -> bool:
        return request.accept_mimetypes.best_match(["text/plain", "text/html"]) == "text/html"

    def enqueue(submissions: list) -> list:
        """Put submissions on the queue; their ids are the RQ job ids."""
        for sub in submissions:
            sub["id"] = uuid.uuid4().hex
        with conn.pipeline() as pipe:
            queue.enqueue_many([Queue.prepare_data(grading.grade_submission, (sub,), job_id=sub["id"],
                                                   description=f"{sub['assignment']} {sub['id'][:8]}",
                                                   result_ttl=600, failure_ttl=3600, timeout=60)
                                for sub in submissions], pipeline=pipe)
            pipe.incrby(grading.SUBMITTED, len(submissions))
            pipe.execute()
        return [sub["id"] for sub in submissions]

    @app.errorhandler(redis.RedisError)
    def redis_down(error):
        return jsonify(error=f"redis unreachable: {error}"), 503

    @app.get("/")
    def index():
        info = status()
        if wants_html():
            try:
                recent = [json.loads(item) for item in conn.lrange(grading.RECENT, 0, -1)]
            except redis.RedisError:
                recent = []
            return render_template("index.html", info=info, recent=recent, key=grading.ANSWER_KEY)
        lines = [f"{field}: {'n/a' if info[field] is None else info[field]}" for field in STATUS_FIELDS]
        return "\n".join(lines) + "\n", 200, {"Content-Type": "text/plain; charset=utf-8"}

    @app.get("/status")
    def status_json():
        return jsonify(status())

    @app.post("/submit")
    def submit():
        if request.is_json:
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                return jsonify(error="expected a JSON object"), 400
            assignment, student, answers = body.get("assignment"), body.get("student", ""), body.get("answers")
        else:  # an HTML form: one field per question
            form = request.form
            assignment, student = form.get("assignment"), form.get("student", "")
            answers = {q: form[q] for q in grading.ANSWER_KEY.get(assignment, {}) if q in form}
        problem = check_submission(assignment, student, answers)
        if problem:
            return jsonify(error=problem), 400
        [sid] = enqueue([{"assignment": assignment, "student": student, "answers": answers}])
        app.logger.info("queued submission=%s assignment=%s pod=%s", sid[:8], assignment, pod)
        if not request.is_json and wants_html():
            return redirect(url_for("index"), code=303)
        url = url_for("submission", sid=sid)
        return jsonify(id=sid, assignment=assignment, status="queued", url=url), 202, {"Location": url}

    @app.get("/submissions/<sid>")
    def submission(sid):
        done = conn.get(grading.RESULT.format(sid))
        if done is not None:
            return jsonify(id=sid, status="finished", result=json.loads(done))
        try:
            job = Job.fetch(sid, connection=conn)
        except NoSuchJobError:
            abort(404)
        return jsonify(id=sid, status=str(job.get_status(refresh=False).value), result=None)

    @app.post("/demo/flood")
    def flood():
        try:
            n = int(request.args.get("n", 50))
        except ValueError:
            n = 0
        if not 1 <= n <= MAX_FLOOD:
            return f"n must be a whole number from 1 to {MAX_FLOOD}\n", 400, {"Content-Type": "text/plain"}
        wait = request.args.get("wait", "0")
        if not wait.isdigit() or int(wait) > MAX_FLOOD_WAIT:
            return f"wait must be a whole number of seconds from 0 to {MAX_FLOOD_WAIT}\n", 400, {"Content-Type": "text/plain"}
        names = sorted(grading.ANSWER_KEY)
        subs = []
        for i in range(n):
            assignment = names[i % len(names)]
            subs.append({"assignment": assignment, "student": f"demo{i + 1:03d}",
                         "answers": grading.sample_answers(assignment, i)})
        enqueue(subs)
        app.logger.info("queued %d demo submissions pod=%s", n, pod)
        if wants_html():
            return redirect(url_for("index"), code=303)
        lines = [f"queued: {n}"]
        if int(wait):
            time.sleep(int(wait))
            info = status()
            lines += [f"{field}: {info[field]}" for field in ("queue", "workers")]  # after the wait
        return "\n".join(lines) + "\n", 202, {"Content-Type": "text/plain; charset=utf-8"}

    @app.get("/healthz")
    def healthz():
        # Liveness: only "this process still answers". Never check Redis here, or a Redis
        # outage would make Kubernetes restart every healthy web pod.
        return "ok\n", 200, {"Content-Type": "text/plain"}

    @app.get("/readyz")
    def readyz():
        # Readiness: can this pod do its job? If not, the Service stops sending it traffic.
        try:
            conn.ping()
        except redis.RedisError as error:
            return f"not ready: redis unreachable ({error})\n", 503, {"Content-Type": "text/plain"}
        return "ready\n", 200, {"Content-Type": "text/plain"}

    return app


def check_submission(assignment, student, answers):
    """Why a submission is refused, or None if it is well formed."""
    if assignment not in grading.ANSWER_KEY:
        return f"unknown assignment {assignment!r}; choose one of {sorted(grading.ANSWER_KEY)}"
    if not isinstance(student, str) or len(student) > 100:
        return "student must be a short string"
    if not isinstance(answers, dict) or not answers:
        return "answers must be an object like {\"q1\": \"14\"}"
    for question, answer in answers.items():
        if question not in grading.ANSWER_KEY[assignment]:
            return f"{assignment} has no question {question!r}"
        if not isinstance(answer, str) or len(answer) > MAX_ANSWER_CHARS:
            return f"the answer to {question} must be a string of at most {MAX_ANSWER_CHARS} characters"
    return None


# What gunicorn serves. Creating it opens no connection: Redis is first contacted per request.
app = create_app()
