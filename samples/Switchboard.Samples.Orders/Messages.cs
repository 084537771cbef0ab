using Switchboard;

namespace Orders;

// Events: something happened. Any number of handlers, zero included.
public sealed record OrderCreated(string OrderId, string Customer, long AmountCents);
public sealed record ParcelScanned(string OrderId, string Location);
public sealed record InvoiceRequested(string OrderId);
public sealed record CartUpdated(string CartId, int Items);

// Commands and requests: exactly one handler. IRequest<TResult> names the result type for RequestAsync.
public sealed record ShipOrder(string OrderId);
public sealed record CancelOrder(string OrderId) : IRequest<bool>;
public sealed record GetOrderStatus(string OrderId) : IRequest<OrderStatus>;
public sealed record PlaceOrder(string OrderId, string Customer, long AmountCents) : IRequest<OrderPlaced>;
public sealed record ChargePayment(string OrderId, long AmountCents) : IRequest<PaymentReceipt>;

// Results.
public sealed record OrderStatus(string OrderId, string Status);
public sealed record OrderPlaced(string OrderId, string Status);
public sealed record PaymentReceipt(string OrderId, long AmountCents, string ReceiptId);

// A payload published on a string topic is any object; a subscriber converts it with TopicMessage.As<T>().
public sealed record ParcelPicked(string OrderId, int Items);
