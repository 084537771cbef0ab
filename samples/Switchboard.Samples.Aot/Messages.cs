using System.Text.Json.Serialization;
using Switchboard;

namespace AotOrders;

public sealed record OrderCreated(string OrderId, string Customer, long AmountCents);
public sealed record ShipOrder(string OrderId);
public sealed record GetOrderStatus(string OrderId) : IRequest<OrderStatus>;
public sealed record PlaceOrder(string OrderId, string Customer, long AmountCents) : IRequest<OrderPlaced>;
public sealed record ChargePayment(string OrderId, long AmountCents) : IRequest<PaymentReceipt>;
public sealed record OrderStatus(string OrderId, string Status);
public sealed record OrderPlaced(string OrderId, string Status);
public sealed record PaymentReceipt(string OrderId, long AmountCents, string ReceiptId);
public sealed record ParcelPicked(string OrderId, int Items);

/// <summary>
/// The System.Text.Json metadata of every message, written at compile time by System.Text.Json's generator. Native AOT has
/// no reflection-based serialization: the queue, the outbox and the response store serialize through this. The Switchboard
/// generator hands it to the bus in AddGeneratedHandlers() and warns (SWB004) about a handled type missing here.
/// </summary>
[JsonSerializable(typeof(OrderCreated))]
[JsonSerializable(typeof(ShipOrder))]
[JsonSerializable(typeof(GetOrderStatus))]
[JsonSerializable(typeof(PlaceOrder))]
[JsonSerializable(typeof(ChargePayment))]
[JsonSerializable(typeof(OrderStatus))]
[JsonSerializable(typeof(OrderPlaced))]
[JsonSerializable(typeof(PaymentReceipt))]
[JsonSerializable(typeof(ParcelPicked))]
internal sealed partial class OrdersJson : JsonSerializerContext;
