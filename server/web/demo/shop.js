// The demo shop's own behaviour: a tiny single-page router and a cart. It holds no tracking code:
// every micro-conversion is a data-foothold attribute in index.html, captured by /foothold.js.
(function () {
  var cart = 0;
  var products = { 'desk-lamp': 'Desk lamp', 'floor-lamp': 'Floor lamp' };

  function variant() {
    var v = new URLSearchParams(location.search).get('variant') || localStorage.getItem('demo_variant');
    if (v !== 'control' && v !== 'autoplay') v = Math.random() < 0.5 ? 'control' : 'autoplay';
    localStorage.setItem('demo_variant', v);
    return v;
  }

  function render() {
    var path = location.pathname, route = 'home';
    if (path.indexOf('/p/') === 0) route = 'product';
    else if (path === '/demo/search') route = 'search';
    else if (path === '/demo/cart') route = 'cart';
    else if (path === '/demo/checkout') route = 'checkout';
    else if (path === '/demo/thanks') route = 'thanks';
    document.querySelectorAll('[data-route]').forEach(function (s) { s.hidden = s.dataset.route !== route; });
    if (route === 'product') {
      var slug = path.slice(3);
      document.getElementById('product-name').textContent = products[slug] || slug;
      var v = variant(), video = document.getElementById('demo-video');
      document.getElementById('variant').textContent = v;
      if (window.foothold) window.foothold.expose('video_autoplay', v);
      video.autoplay = v === 'autoplay';
      if (video.autoplay) video.play().catch(function () {});
    }
    if (route === 'search') document.getElementById('query').textContent = new URLSearchParams(location.search).get('q') || '';
    document.getElementById('cart-lines').textContent = cart ? cart + ' × Desk lamp' : 'Your cart is empty.';
    document.getElementById('cart-count').textContent = cart;
    document.title = (route === 'home' ? 'Foothold demo shop' : route + ' · Foothold demo shop');
  }

  function go(url) {
    history.pushState(null, '', url);
    render();
    window.scrollTo(0, 0);
  }

  document.addEventListener('click', function (e) {
    var a = e.target.closest('a[data-nav]');
    if (a && !e.defaultPrevented && e.button === 0 && !e.metaKey && !e.ctrlKey) {
      e.preventDefault();
      go(a.href);
    }
    if (e.target.id === 'add-to-cart') { cart++; render(); }
  });
  document.addEventListener('submit', function (e) {
    var f = e.target;
    e.preventDefault();
    if (f.hasAttribute('data-nav')) go(f.action + '?' + new URLSearchParams(new FormData(f)));
    else if (f.id === 'pay') { cart = 0; go('/demo/thanks'); }
    else f.innerHTML = '<p>Thanks!</p>';
  });
  window.addEventListener('popstate', render);
  render();
})();
