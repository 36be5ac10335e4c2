/* feedpub widget: writes a topic's latest entries into an element of the page that includes
   this script, from the topic's JSON feed (served with CORS). Options, on the script element:
   data-target="an-element-id" (else a new element right after the script), data-count="5".
   Entries are written as text: a title holding markup shows as text. */
(function () {
  "use strict";
  var feedUrl = {{ feed_url | tojson }};
  var topicUrl = {{ topic_url | tojson }};
  var script = document.currentScript;
  if (!script) {
    return;
  }
  var count = parseInt(script.getAttribute("data-count") || "{{ default_count }}", 10);
  if (!(count >= 1)) {
    count = {{ default_count }};
  }
  count = Math.min(count, {{ max_count }});
  var targetId = script.getAttribute("data-target");
  var target = targetId ? document.getElementById(targetId) : null;
  if (!target) {
    target = document.createElement("div");
    script.parentNode.insertBefore(target, script.nextSibling);
  }

  function link(url, text) {
    var anchor = document.createElement("a");
    anchor.textContent = text;
    if (/^https?:\/\//i.test(url || "")) {
      anchor.href = url;
    }
    return anchor;
  }

  function show(feed) {
    var list = document.createElement("ul");
    list.className = "feedpub-entries";
    (feed.items || []).slice(0, count).forEach(function (item) {
      var entry = document.createElement("li");
      entry.className = "feedpub-entry";
      entry.appendChild(link(item.url, item.title || ""));
      var day = (item._feedpub && item._feedpub.listing_date) || (item.date_published || "").slice(0, 10);
      if (day) {
        var time = document.createElement("time");
        time.dateTime = day;
        time.textContent = day;
        entry.appendChild(document.createTextNode(" "));
        entry.appendChild(time);
      }
      if (/^https?:\/\//i.test(item.image || "")) {
        var image = document.createElement("img");
        image.className = "feedpub-image";
        image.src = item.image;
        image.alt = "";
        image.loading = "lazy";
        image.referrerPolicy = "no-referrer";
        var credit = item._feedpub && item._feedpub.credit;
        if (credit) {
          image.title = credit;
        }
        entry.appendChild(document.createElement("br"));
        entry.appendChild(image);
      }
      list.appendChild(entry);
    });
    var more = document.createElement("p");
    more.className = "feedpub-more";
    more.appendChild(link(topicUrl, "More from " + (feed.title || "this feed")));
    target.replaceChildren(list, more);
  }

  function fail() {
    target.replaceChildren(link(topicUrl, "The latest entries could not be loaded: see them here."));
  }

  fetch(feedUrl, { mode: "cors", credentials: "omit" })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    })
    .then(show, fail);
})();
