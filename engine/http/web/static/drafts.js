// /drafts/new: "Kính gửi" belongs to a Công văn only. With another type chosen the field is
// hidden and disabled (so nothing typed there is sent); without JavaScript it simply stays,
// with its hint "chỉ dùng cho Công văn".
(function () {
  "use strict";
  var type = document.getElementById("doc_type");
  var field = document.getElementById("kinh-gui-field");
  if (!type || !field) { return; }
  var box = document.getElementById("addressees");
  function toggle() {
    var letter = type.value === field.getAttribute("data-for-type");
    field.hidden = !letter;
    box.disabled = !letter;
  }
  type.addEventListener("change", toggle);
  toggle();
})();
