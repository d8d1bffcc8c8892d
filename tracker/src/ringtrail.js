/*
 * Ringtrail tracking script (dynamic number insertion).
 *
 * Finds the account's business numbers on the page, asks the DNI endpoint which tracking number this
 * visitor should see, and rewrites each occurrence in the shape it was printed in. The server inlines the
 * account config below when it serves /t/<public_key>.js. ES2017, no dependencies; see tracker/README.md.
 *
 * Rules this file keeps: never throw into the page, never leave a number hidden longer than hideMs, show
 * the original number whenever the endpoint fails, and define no global except window.Ringtrail.
 */
(function (w, d) {
  'use strict';
  if (w.Ringtrail) return; // the snippet was pasted twice: the first copy already runs

  var C;
  try {
    C = __RINGTRAIL_CONFIG__;
  } catch (e) {
    return; // served without its config (raw source): do nothing rather than throw
  }
  if (!C || !C.endpoint) return;

  var HIDE = 'data-rt-h';
  var NOSWAP = '[data-ringtrail-noswap]';
  var SKIP = /^(SCRIPT|STYLE|NOSCRIPT|TEXTAREA|TEMPLATE)$/;
  var SEP = '[\\s().\\-\\u00a0]{0,3}'; // what may stand between two digits of a printed number
  var ID = /^[\w.-]{1,64}$/;
  var attrs = ['href'].concat((C.attributes || []).filter(function (a) {
    return /^[\w-]+$/.test(a);
  }));
  var sel = '[' + attrs.join('],[') + ']';
  var targets = (C.targets || []).map(compile).filter(Boolean);
  var found = {}; // targets seen on the page (E.164 -> 1)
  var asked = {}; // targets already sent to the endpoint
  var swaps = null; // E.164 target -> {number, formatted}, once the endpoint answered
  var hiding = true; // inside the anti-flicker window
  var busy = false; // a session request is in flight
  var posted = false; // the page view was reported
  var ids = {v: cookie('_rt_v'), s: cookie('_rt_s')};
  var timer = 0;
  var mo = null;

  function noop() {}

  // Wraps a callback the browser runs for us so that no error of ours ever reaches the page.
  function safe(fn) {
    return function (a) {
      try {
        return fn(a);
      } catch (e) {
        unhide(); // whatever went wrong, the original number must stay readable
      }
    };
  }

  function digits(s) {
    return String(s).replace(/\D/g, '');
  }

  // Length of the country code of an E.164 number: zones 1 and 7 have one digit, the ITU three-digit
  // codes are listed, every other code has two (+44, +33, +49 ...).
  function ccLen(n) {
    return /^[17]/.test(n) ? 1 : /^(2[1-69]|3[578]|42|5[09]|6[7-9]|8[05-9]|9[6-9])/.test(n) ? 3 : 2;
  }

  // A target becomes a regex over its national digits with any separators between them, optionally
  // preceded by the country code (+44, 0044, 1-) and/or a trunk 0, so every common format matches.
  function compile(t) {
    var n = digits(t), k = ccLen(n), cc = n.slice(0, k), nsn = n.slice(k);
    if (n.length < 8) return null;
    return {
      t: '+' + n, cc: cc, nsn: nsn,
      re: new RegExp('(?:\\+|00)?(?:' + cc + ')?' + SEP + '0?' + SEP + nsn.split('').join(SEP), 'g')
    };
  }

  // Calls fn(target, match) for each target printed in s and substitutes its non-null answer. A match
  // glued to more digits is a different, longer number and is left alone.
  function scan(s, fn) {
    targets.forEach(function (tg) {
      s = s.replace(tg.re, function (m, at, all) {
        var r = /\d/.test(all.charAt(at - 1) + all.charAt(at + m.length)) ? null : fn(tg, m);
        return r == null ? m : r;
      });
    });
    return s;
  }

  // The assigned number in the shape of the printed match m: each digit is replaced in place, so
  // separators, grouping, parentheses and the prefix (+cc, 00cc, trunk 0 or none) stay as they were.
  function reshape(tg, m) {
    var sw = swaps && swaps[tg.t], md, pre, n, k, nd, i = 0;
    if (!sw) return null;
    md = digits(m);
    pre = md.slice(0, md.length - tg.nsn.length);
    n = digits(sw.number);
    k = ccLen(n);
    nd = pre.replace(tg.cc, n.slice(0, k)) + n.slice(k);
    if (nd.length !== md.length) {
      // numbers of different lengths cannot share a template: fall back to the server's formatting
      return pre.indexOf(tg.cc) < 0 && sw.formatted ? sw.formatted : '+' + n;
    }
    return m.replace(/\d/g, function () {
      return nd.charAt(i++);
    });
  }

  // Notes the targets in s, hides their element while we wait for the endpoint, swaps them once it has
  // answered. Returns the rewritten string.
  function fix(s, el) {
    return scan(s, function (tg, m) {
      found[tg.t] = 1;
      if (hiding && el !== d.body && el !== d.documentElement) el.setAttribute(HIDE, '');
      return reshape(tg, m);
    });
  }

  function ok(el) {
    return el && el.closest && !SKIP.test(el.nodeName) && !el.closest(NOSWAP);
  }

  function text(t) {
    var v = t.nodeValue, p = t.parentNode, nv;
    if (/\d/.test(v) && ok(p) && (nv = fix(v, p)) !== v) t.nodeValue = nv;
  }

  // Swappable attributes: tel:/sms: hrefs (read percent-decoded) and the configured data attributes.
  function attr(el) {
    attrs.forEach(function (a) {
      var v = el.getAttribute(a), nv;
      if (!v || !ok(el) || (a === 'href' && !/^(tel|sms):/i.test(v))) return;
      try {
        v = decodeURIComponent(v);
      } catch (e) {
        // not percent-encoded after all: use it as it is
      }
      if ((nv = fix(v, el)) !== v) el.setAttribute(a, nv);
    });
  }

  // Scans a subtree, a shadow root or one text node for targets.
  function run(root) {
    var tw, t, els, i, type = root && root.nodeType;
    if (type === 3) return text(root);
    if (type !== 1 && type !== 11) return;
    tw = d.createTreeWalker(root, 4); // 4: NodeFilter.SHOW_TEXT
    while ((t = tw.nextNode())) text(t);
    els = root.querySelectorAll(sel);
    if (type === 1) attr(root);
    for (i = 0; i < els.length; i++) attr(els[i]);
  }

  // Rescans and drops the mutation records our own edits queued, so the observer never feeds itself.
  function apply(root) {
    run(root || d.body);
    if (mo) mo.takeRecords();
  }

  // Only what changed is rescanned: single-page apps re-render often, and whole-page scans add up.
  function changed(recs) {
    recs.forEach(function (r) {
      if (r.type === 'attributes') attr(r.target);
      else if (r.type === 'characterData') text(r.target);
      else for (var i = 0; i < r.addedNodes.length; i++) run(r.addedNodes[i]);
    });
    if (mo) mo.takeRecords();
    sync();
  }

  function unhide() {
    var els = d.querySelectorAll('[' + HIDE + ']'), i;
    hiding = false;
    for (i = 0; i < els.length; i++) els[i].removeAttribute(HIDE);
  }

  function cookie(name) {
    var m = d.cookie.match(new RegExp('(?:^|; )' + name + '=([^;]*)'));
    try {
      return m ? decodeURIComponent(m[1]) : null;
    } catch (e) {
      return null;
    }
  }

  function setCookie(name, v, seconds) {
    d.cookie = name + '=' + encodeURIComponent(v) + ';max-age=' + Math.round(seconds) +
      ';path=/;samesite=lax' + (location.protocol === 'https:' ? ';secure' : '');
  }

  function id(v) {
    return typeof v === 'string' && ID.test(v) ? v : null;
  }

  // GA ids: _ga "GA1.1.123.456" -> "123.456"; _ga_<stream> "GS1.1.1700000000.3..." or
  // "GS2.1.s1700000000$o3..." -> "1700000000".
  function gaIds() {
    var c = /^GA\d\.\d+\.(\d+\.\d+)/.exec(cookie('_ga') || '');
    var s = /^GS\d\.\d+\.s?(\d+)/.exec(cookie('_ga_\\w+') || '');
    return [c && c[1], s && s[1]];
  }

  function post(path, body) {
    // A string body is sent as text/plain: a CORS "simple" request, so the browser sends no preflight.
    return fetch(C.endpoint + '/' + path, {
      method: 'POST', body: JSON.stringify(body), credentials: 'omit', keepalive: path === 'touch'
    });
  }

  // Reports the page view, and asks again when targets show up that the endpoint was not asked about
  // (content loaded later). Each target is asked about once, so a failing endpoint is not hammered.
  function sync() {
    var list = Object.keys(found), ga;
    if (busy || (posted && !list.some(function (t) {
      return !asked[t];
    }))) return;
    busy = posted = true;
    list.forEach(function (t) {
      asked[t] = 1;
    });
    ga = gaIds();
    post('session', {
      visitor: ids.v, session: ids.s, url: location.href, referrer: d.referrer, targets: list,
      ga_client_id: ga[0], ga_session_id: ga[1]
    }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(safe(answer)).catch(noop).then(safe(function () {
      busy = false;
      unhide(); // answered or failed: either way, stop hiding
      sync();
    }));
  }

  // Keeps only well-formed parts of the answer; anything else leaves the original numbers in place.
  function answer(r) {
    var x = r && r.swaps, got = {}, k, sw;
    if (!r || typeof r !== 'object') return;
    if (id(r.visitor)) setCookie('_rt_v', ids.v = r.visitor, (+C.cookieDays || 30) * 86400);
    if (id(r.session)) setCookie('_rt_s', ids.s = r.session, 1800);
    for (k in x) {
      sw = x[k];
      if (sw && /^\+?\d{7,15}$/.test(sw.number)) {
        got['+' + digits(k)] = {
          number: sw.number,
          formatted: /^[\d\s().+-]{1,32}$/.test(sw.formatted) ? sw.formatted : null
        };
      }
    }
    swaps = Object.assign(swaps || {}, got);
    hiding = false;
    apply();
    beat();
  }

  // Heartbeat: keeps the visitor's number leased while the tab is visible. The session cookie slides.
  function touch() {
    var b = JSON.stringify({visitor: ids.v, session: ids.s});
    setCookie('_rt_s', ids.s, 1800);
    if (!(navigator.sendBeacon && navigator.sendBeacon(C.endpoint + '/touch', b))) {
      post('touch', {visitor: ids.v, session: ids.s}).catch(noop);
    }
  }

  function beat() {
    clearInterval(timer);
    timer = 0;
    if (ids.s && !d.hidden) timer = setInterval(safe(touch), Math.max(+C.heartbeatSeconds || 60, 0.1) * 1e3);
  }

  // Hidden tab: no heartbeats. Visible again: touch at once (the lease may be close to expiring), then beat.
  function visibility() {
    if (!d.hidden && ids.s && swaps) touch();
    if (swaps) beat();
  }

  function start() {
    var st = d.createElement('style');
    st.textContent = '[' + HIDE + ']{visibility:hidden!important}';
    (d.head || d.documentElement).appendChild(st);
    apply();
    setTimeout(safe(unhide), 'hideMs' in C ? +C.hideMs || 0 : 1000);
    if (w.MutationObserver) {
      mo = new MutationObserver(safe(changed));
      mo.observe(d.documentElement, {
        childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: attrs
      });
    }
    d.addEventListener('visibilitychange', safe(visibility));
    sync();
  }

  w.Ringtrail = {
    // Re-runs swapping, on the whole page or under root (for pages that render outside the observer's view).
    swap: safe(function (root) {
      apply(root);
      sync();
    }),
    // Current ids and swaps, for debugging and for the site's own analytics.
    state: function () {
      return JSON.parse(JSON.stringify({visitor: ids.v, session: ids.s, swaps: swaps}));
    }
  };

  ids.v = id(ids.v);
  ids.s = id(ids.s);
  if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', safe(start));
  else safe(start)();
})(window, document);
