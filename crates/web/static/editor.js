// Where JavaScript runs, the items of an editor's lists (modules, lessons, concepts,
// questions, criteria) can also be dragged into place by their handle. A drop submits the
// form with op=move:<list>.<from>.<to>, as the Move buttons submit theirs: the server shows
// the form again with the move applied and saves nothing. The buttons stay the accessible
// way to reorder; the handle is for pointers only.
(function () {
  "use strict";
  var form = document.getElementById("editor");
  if (!form || !form.requestSubmit) return;
  var dragging = null;
  function split(key) {
    var i = key.lastIndexOf(".");
    return { list: key.slice(0, i), at: Number(key.slice(i + 1)) };
  }
  form.querySelectorAll("[data-item]").forEach(function (item) {
    var key = item.getAttribute("data-item");
    var handle = document.createElement("span");
    handle.className = "drag-handle";
    handle.draggable = true;
    handle.textContent = "\u283F drag";
    handle.title = "Drag to reorder (or use the Move buttons)";
    handle.setAttribute("aria-hidden", "true");
    var legend = item.querySelector("legend");
    if (legend) legend.appendChild(handle); else item.insertBefore(handle, item.firstChild);
    handle.addEventListener("dragstart", function (e) {
      dragging = key;
      e.dataTransfer.setData("text/plain", key);
      e.dataTransfer.effectAllowed = "move";
      item.classList.add("dragging");
    });
    handle.addEventListener("dragend", function () {
      dragging = null;
      item.classList.remove("dragging");
    });
    function sameList() {
      return dragging && split(dragging).list === split(key).list;
    }
    item.addEventListener("dragover", function (e) {
      if (!sameList()) return; // an outer item of the dragged one's list takes it
      e.preventDefault();
      e.stopPropagation();
      item.classList.add("drop-target");
    });
    item.addEventListener("dragleave", function () { item.classList.remove("drop-target"); });
    item.addEventListener("drop", function (e) {
      if (!sameList()) return;
      e.preventDefault();
      e.stopPropagation();
      item.classList.remove("drop-target");
      var from = split(dragging), to = split(key);
      if (from.at === to.at) return;
      var op = document.createElement("input");
      op.type = "hidden";
      op.name = "op";
      op.value = "move:" + from.list + "." + from.at + "." + to.at;
      form.appendChild(op);
      form.requestSubmit();
    });
  });
})();
