"""scripts/class serve: the class in a browser, served from the teacher's machine.

links     each student's secret link and the teacher's, kept across restarts of the server
terminal  a student's shell: `kubectl exec` into their terminal pod, on a local pty, over a WebSocket
checks    the student's step checks, run with the student's own kubeconfig
server    the aiohttp application: the teacher's page and board, each student's page and terminal
static/   the pages and their scripts; xterm.js comes from npm (web/), copied at start
"""
