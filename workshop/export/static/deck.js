// The exported deck (scripts/export-html): one slide at a time, #slide-N in the address, the
// arrow keys like the live deck, and every terminal box as an asciinema player of its recording.
(function () {
  "use strict";
  var slides = Array.prototype.slice.call(document.querySelectorAll("section.slide"));
  var total = slides.length;
  var current = 0;
  var players = {};                      // box id (slide-N-box-M) -> player
  window.workshopPlayers = players;      // for the browser test and the curious
  document.body.classList.add("js");

  function wanted() {
    var match = /^#slide-(\d+)(?:-box-\d+)?$/.exec(location.hash);
    var n = match ? parseInt(match[1], 10) : 1;
    return Math.min(Math.max(n, 1), total);
  }

  function show(n) {
    if (n === current) return;
    slides.forEach(function (slide, index) {
      var on = index + 1 === n;
      slide.classList.toggle("current", on);
      if (!on) {
        slide.querySelectorAll("figure.box").forEach(function (box) {
          var player = players[box.id];
          if (player) player.pause();
        });
      }
    });
    current = n;
    document.body.setAttribute("data-slide", String(n));
    if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
    var box = /-box-\d+$/.test(location.hash) ? document.getElementById(location.hash.slice(1)) : null;
    if (box) box.scrollIntoView(); else window.scrollTo(0, 0);
  }

  function go(n) {
    n = Math.min(Math.max(n, 1), total);
    if (n === current) return;
    location.hash = "#slide-" + n;
    show(n);                             // now, not at hashchange: a quick second key counts from here
  }

  // Captured before the players see it: the arrows always change slides, as in the deck;
  // a player keeps its own keys (space, [ and ] for the previous and next marker, . and ,).
  window.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    var to = {ArrowRight: current + 1, PageDown: current + 1, ArrowLeft: current - 1, PageUp: current - 1,
              Home: 1, End: total}[event.key];
    if (to === undefined) return;
    event.preventDefault();
    event.stopPropagation();
    go(to);
  }, true);

  function createPlayer(element) {
    var name = element.getAttribute("data-cast");
    var box = element.closest("figure.box");
    var data = (window.WORKSHOP_CASTS || {})[name];
    if (data === undefined) {
      element.setAttribute("data-state", "error");
      console.error("the recording " + name + " was not loaded (casts/" + name + ".js)");
      return;
    }
    element.setAttribute("data-state", "loading");
    var player = AsciinemaPlayer.create({data: data}, element, {
      cols: Number(element.getAttribute("data-cols")),
      rows: Number(element.getAttribute("data-rows")),
      poster: element.getAttribute("data-poster"),
      idleTimeLimit: Number(element.getAttribute("data-idle")),
      preload: true,
      fit: "width",
      theme: "monokai",
      terminalFontFamily: "'DejaVu Sans Mono', 'Liberation Mono', Menlo, Consolas, monospace"
    });
    player.addEventListener("metadata", function (meta) {
      element.setAttribute("data-duration", String(meta.duration));
      element.setAttribute("data-markers", String(meta.markers.length));
      element.setAttribute("data-state", "loaded");
    });
    player.addEventListener("error", function (error) {
      element.setAttribute("data-state", "error");
      console.error("the recording " + name + " could not be played: " + (error && error.message || error));
    });
    players[box.id] = player;
    box.querySelectorAll("button.step").forEach(function (button) {
      button.addEventListener("click", function () {
        Promise.resolve(player.seek({marker: Number(button.getAttribute("data-marker"))}))
          .then(function () { return player.play(); });
      });
    });
  }

  document.querySelectorAll("div.player[data-cast]").forEach(createPlayer);
  window.addEventListener("hashchange", function () { show(wanted()); });
  show(wanted());
})();
