//! async-graphql (axum) serving the same schema as Byron's engine in the
//! GraphQL comparison of scripts/bench (docs/benchmarks.md, "GraphQL engine"):
//! the types and root fields the query set uses, named and typed as Byron's
//! generated SDL names them (bench/graphql/shop.json), from in-memory data.
//!
//!   async-graphql-peer --port P [--orders N]
//!
//! Order "o<i>": customer "c<i % 100>", total i + 0.5, OPEN, two lines — the
//! data of bench/graphql/engine_server.c and bench/peers/node.
use async_graphql::{
    ComplexObject, Context, Enum, InputObject, Json, Object, Result, Scalar, ScalarType, Schema, SimpleObject,
    Value, ID,
};
use async_graphql_axum::GraphQL;
use axum::{routing::post_service, Router};
use std::sync::Arc;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
enum OrderStatus {
    Open,
    Shipped,
    Cancelled,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
enum SortDirection {
    #[default]
    Asc,
    Desc,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
enum OrderOrderField {
    Id,
    Customer,
    Status,
}

/// An RFC 3339 date-time string.
#[derive(Clone)]
struct DateTime(String);

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> async_graphql::InputValueResult<Self> {
        match value {
            Value::String(s) => Ok(DateTime(s)),
            other => Err(async_graphql::InputValueError::expected_type(other)),
        }
    }
    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

#[derive(SimpleObject, Clone)]
struct OrderLine {
    id: ID,
    version: i32,
    sku: String,
    qty: Option<i32>,
}

#[derive(SimpleObject, Clone)]
struct Order {
    id: ID,
    version: i32,
    customer: String,
    total: f64,
    status: Option<OrderStatus>,
    placed_at: Option<DateTime>,
    lines: Option<Vec<OrderLine>>,
}

#[derive(SimpleObject)]
struct PageInfo {
    has_next_page: bool,
    has_previous_page: bool,
    start_cursor: Option<String>,
    end_cursor: Option<String>,
}

#[derive(SimpleObject)]
struct OrderEdge {
    cursor: String,
    node: Order,
}

#[derive(SimpleObject)]
struct OrderConnection {
    edges: Vec<OrderEdge>,
    page_info: PageInfo,
}

#[derive(SimpleObject)]
struct ByronEvent {
    sequence: String,
    #[graphql(name = "type")]
    kind: String,
    model: String,
    id: ID,
    version: i32,
    time: Option<DateTime>,
    data: Option<Json<serde_json::Value>>,
}

#[derive(SimpleObject)]
#[graphql(complex)]
struct OrderMutationResult {
    id: ID,
    version: i32,
    sequence: String,
    events: Vec<ByronEvent>,
}

#[ComplexObject]
impl OrderMutationResult {
    async fn projected(&self) -> Option<bool> {
        None
    }
}

#[derive(InputObject)]
struct IDFilter {
    eq: Option<ID>,
    ne: Option<ID>,
    #[graphql(name = "in")]
    one_of: Option<Vec<ID>>,
    gt: Option<ID>,
    gte: Option<ID>,
    lt: Option<ID>,
    lte: Option<ID>,
}

#[derive(InputObject)]
struct StringFilter {
    eq: Option<String>,
    ne: Option<String>,
    #[graphql(name = "in")]
    one_of: Option<Vec<String>>,
    gt: Option<String>,
    gte: Option<String>,
    lt: Option<String>,
    lte: Option<String>,
}

#[derive(InputObject)]
struct OrderStatusFilter {
    eq: Option<OrderStatus>,
    ne: Option<OrderStatus>,
    #[graphql(name = "in")]
    one_of: Option<Vec<OrderStatus>>,
}

#[derive(InputObject)]
struct OrderFilter {
    id: Option<IDFilter>,
    customer: Option<StringFilter>,
    status: Option<OrderStatusFilter>,
    and: Option<Vec<OrderFilter>>,
    or: Option<Vec<OrderFilter>>,
    not: Option<Box<OrderFilter>>,
}

#[derive(InputObject)]
struct OrderOrderBy {
    field: OrderOrderField,
    #[graphql(default)]
    direction: SortDirection,
}

#[derive(InputObject)]
struct OrderUpdateInput {
    customer: Option<String>,
    total: Option<f64>,
    status: Option<OrderStatus>,
    placed_at: Option<DateTime>,
    lines: Option<Vec<ID>>,
}

fn order(i: usize) -> Order {
    Order {
        id: ID(format!("o{}", i)),
        version: 1,
        customer: format!("c{}", i % 100),
        total: i as f64 + 0.5,
        status: Some(OrderStatus::Open),
        placed_at: Some(DateTime("2026-12-01T00:00:00Z".into())),
        lines: Some(
            (0..2)
                .map(|k| OrderLine {
                    id: ID(format!("l{}-{}", i, k)),
                    version: 1,
                    sku: format!("sku-{}-{}", i % 50, k),
                    qty: Some(k as i32 + 1),
                })
                .collect(),
        ),
    }
}

struct Data {
    orders: Vec<Order>,
}

fn index(data: &Data, id: &str) -> Option<usize> {
    let i: usize = id.strip_prefix('o')?.parse().ok()?;
    (i < data.orders.len()).then_some(i)
}

struct Query;

#[Object]
impl Query {
    async fn order(&self, ctx: &Context<'_>, id: ID) -> Option<Order> {
        let data = ctx.data_unchecked::<Arc<Data>>();
        index(data, &id).map(|i| data.orders[i].clone())
    }

    #[allow(clippy::too_many_arguments)]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        filter: Option<OrderFilter>,
        order_by: Option<Vec<OrderOrderBy>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> OrderConnection {
        let _ = (order_by, after, last, before);
        let data = ctx.data_unchecked::<Arc<Data>>();
        let first = first.unwrap_or(20).max(0) as usize;
        let customer = filter.and_then(|f| f.customer).and_then(|c| c.eq);
        let mut it = data.orders.iter().filter(|o| customer.as_ref().map_or(true, |c| &o.customer == c));
        let edges: Vec<OrderEdge> =
            it.by_ref().take(first).map(|o| OrderEdge { cursor: o.id.to_string(), node: o.clone() }).collect();
        let more = it.next().is_some();
        let end = edges.last().map(|e| e.cursor.clone());
        OrderConnection {
            edges,
            page_info: PageInfo { has_next_page: more, has_previous_page: false, start_cursor: None, end_cursor: end },
        }
    }
}

struct Mutation;

#[Object]
impl Mutation {
    async fn update_order(&self, ctx: &Context<'_>, id: ID, input: OrderUpdateInput) -> Result<OrderMutationResult> {
        let _ = input;
        let data = ctx.data_unchecked::<Arc<Data>>();
        index(data, &id).ok_or("no such order")?;
        Ok(OrderMutationResult { id, version: 2, sequence: "2".into(), events: vec![] })
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: usize| {
        args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
    };
    let (port, n) = (arg("--port", 0), arg("--orders", 1000));
    let data = Arc::new(Data { orders: (0..n).map(order).collect() });
    let schema = Schema::build(Query, Mutation, async_graphql::EmptySubscription).data(data).finish();
    let app = Router::new().route("/graphql", post_service(GraphQL::new(schema)));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port as u16)).await.expect("bind");
    println!("listening on {}", listener.local_addr().unwrap().port());
    axum::serve(listener, app).await.expect("serve");
}
