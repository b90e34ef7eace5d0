// congso portal: autosave of the application form (progressive enhancement;
// the form works without it). Every few seconds after a change, the form's
// text is posted with op=autosave; files are left to the buttons. A fresh
// form gets its draft address back and keeps saving there.
(function () {
  var form = document.getElementById("apply-form");
  var status = document.getElementById("autosave-status");
  if (!form || !status || !window.fetch || !window.FormData) return;
  var dirty = false, busy = false;
  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("change", function () { dirty = true; });
  function save() {
    if (!dirty || busy) return;
    dirty = false; busy = true;
    var data = new FormData(form);
    var keep = new FormData();
    data.forEach(function (v, k) { if (typeof v === "string" && k !== "op") keep.append(k, v); });
    keep.append("op", "autosave");
    fetch(form.action, { method: "POST", body: keep, credentials: "same-origin" }).then(function (res) {
      if (res.status !== 204) throw new Error(res.status);
      var draft = res.headers.get("X-Draft");
      if (draft && form.getAttribute("action") !== draft) {
        form.setAttribute("action", draft);
        if (window.history && history.replaceState) history.replaceState(null, "", draft);
      }
      var t = new Date();
      status.textContent = status.getAttribute("data-saved") + " " + ("0" + t.getHours()).slice(-2) + ":" + ("0" + t.getMinutes()).slice(-2);
    }).catch(function () {
      dirty = true;
      status.textContent = status.getAttribute("data-failed");
    }).then(function () { busy = false; });
  }
  setInterval(save, 8000);
})();
