// The meetings list: renders the rows client-side from data, as a single-page app does after its
// framework (vendor.js) has started. Thumbnails below the fold load lazily, as in the OpenMeet app.
(function () {
  'use strict';
  var groups = ['Rust Users', 'Board Games', 'Trail Runners', 'Book Club', 'Open Source Friday', 'Photography Walks'];
  var places = ['Library, room 2', 'Community hall', 'Online', 'Riverside park', 'Café Central'];
  var list = document.getElementById('meetings');
  var rows = [];
  for (var i = 0; i < 40; i++) {
    var day = new Date(Date.UTC(2025, 10, 17 + i, 18, 30));
    rows.push({
      id: i,
      title: groups[i % groups.length] + ' meetup #' + (100 + i),
      group: groups[i % groups.length],
      place: places[i % places.length],
      when: day.toUTCString().slice(0, 22),
      going: (i * 37) % 90 + 5,
    });
  }
  // Stands in for the framework's render work: build every row through the vendor helpers.
  var html = rows.map(function (m) {
    var lazy = m.id > 3 ? ' loading="lazy"' : '';
    return '<li class="meeting">' +
      '<img src="img/meeting-' + (m.id % 12) + '.png" width="96" height="64" alt=""' + lazy + '>' +
      '<div><h2>' + window.vendor.escape(m.title) + '</h2>' +
      '<p>' + window.vendor.escape(m.when + ' · ' + m.place) + '</p>' +
      '<p>' + m.going + ' going</p></div>' +
      '<button class="rsvp" type="button" data-id="' + m.id + '">RSVP</button></li>';
  }).join('');
  list.innerHTML = html;
  list.addEventListener('click', function (e) {
    var b = e.target.closest('.rsvp');
    if (b) b.textContent = 'Going';
  });
  document.getElementById('q').addEventListener('input', function (e) {
    var q = e.target.value.toLowerCase();
    Array.prototype.forEach.call(list.children, function (li) {
      li.hidden = q && li.textContent.toLowerCase().indexOf(q) < 0;
    });
  });
})();
