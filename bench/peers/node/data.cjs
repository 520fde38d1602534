// The in-memory data and root resolvers shared by the Node peers of
// scripts/bench's GraphQL comparison (docs/benchmarks.md, "GraphQL engine"):
// order "o<i>": customer "c<i % 100>", total i + 0.5, OPEN, two lines — the
// data of bench/graphql/engine_server.c and bench/peers/rust.
'use strict';

function makeOrders(n) {
  const orders = [];
  for (let i = 0; i < n; i++) {
    orders.push({
      id: 'o' + i, version: 1, customer: 'c' + (i % 100), total: i + 0.5, status: 'OPEN',
      placedAt: '2026-12-01T00:00:00Z',
      lines: [0, 1].map((k) => ({ id: 'l' + i + '-' + k, version: 1, sku: 'sku-' + (i % 50) + '-' + k, qty: k + 1 })),
    });
  }
  return orders;
}

function index(orders, id) {
  if (typeof id !== 'string' || id[0] !== 'o') return -1;
  const i = Number(id.slice(1));
  return Number.isInteger(i) && i >= 0 && i < orders.length ? i : -1;
}

// Root fields, as (args) => value.
function roots(orders) {
  return {
    order: ({ id }) => { const i = index(orders, id); return i < 0 ? null : orders[i]; },
    orders: ({ first, filter }) => {
      const n = first == null ? 20 : first;
      const c = filter && filter.customer && filter.customer.eq;
      const edges = [];
      let more = false;
      for (const o of orders) {
        if (c && o.customer !== c) continue;
        if (edges.length === n) { more = true; break; }
        edges.push({ cursor: o.id, node: o });
      }
      return { edges, pageInfo: { hasNextPage: more, hasPreviousPage: false, endCursor: edges.length ? edges[edges.length - 1].cursor : null } };
    },
    updateOrder: ({ id }) => {
      if (index(orders, id) < 0) throw new Error('no such order');
      return { id, version: 2, sequence: '2', events: [] };
    },
  };
}

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
}

module.exports = { makeOrders, roots, arg };
