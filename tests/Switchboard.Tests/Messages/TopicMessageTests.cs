namespace Switchboard.Tests.Messages;

// TopicMessage.As<T>() (seed 002's payload conversion): the payload itself when it already is a T, otherwise converted
// through its JSON form; an InvalidCastException when it cannot be.
public sealed class TopicMessageTests
{
    public sealed record OrderCreated(string OrderId, long AmountCents);

    public sealed record Customer(string Name, Address Address);

    public sealed record Address(string City);

    public interface IShape
    {
    }

    [Fact]
    public async Task As_AnonymousObject_ConvertsToARecordOfTheSameShape()
    {
        TopicMessage message = await ReceiveAsync(new { OrderId = "o-1", AmountCents = 1999L });

        OrderCreated converted = message.As<OrderCreated>();

        Assert.Equal(new OrderCreated("o-1", 1999), converted);
    }

    [Fact]
    public async Task As_NestedAnonymousObject_ConvertsToNestedRecords()
    {
        TopicMessage message = await ReceiveAsync(new { Name = "Ada", Address = new { City = "London" } });

        Assert.Equal(new Customer("Ada", new Address("London")), message.As<Customer>());
    }

    [Fact]
    public async Task As_Dictionary_ConvertsToARecord()
    {
        TopicMessage message = await ReceiveAsync(new Dictionary<string, object> { ["orderId"] = "o-2", ["amountCents"] = 5 });

        Assert.Equal(new OrderCreated("o-2", 5), message.As<OrderCreated>());
    }

    [Fact]
    public async Task As_RecordOfAnotherTypeWithTheSameShape_Converts()
    {
        TopicMessage message = await ReceiveAsync(new Contract.OrderCreated("o-3", 7));

        Assert.Equal(new OrderCreated("o-3", 7), message.As<OrderCreated>());
    }

    [Fact]
    public async Task As_TheTypeOfThePayload_ReturnsTheSameInstance()
    {
        OrderCreated payload = new("o-4", 1);
        TopicMessage message = await ReceiveAsync(payload);

        Assert.Same(payload, message.As<OrderCreated>());
        Assert.Same(payload, message.As<object>());
        Assert.Same(payload, message.As<IEquatable<OrderCreated>>());
    }

    [Fact]
    public async Task As_ScalarPayload_ConvertsToACompatibleScalar()
    {
        TopicMessage message = await ReceiveAsync(42);

        Assert.Equal(42, message.As<int>());
        Assert.Equal(42L, message.As<long>());
        Assert.Equal(42m, message.As<decimal>());
    }

    [Fact]
    public async Task As_PropertyOfAnIncompatibleType_ThrowsInvalidCastExceptionNamingTheTopic()
    {
        TopicMessage message = await ReceiveAsync(new { OrderId = "o-5", AmountCents = "a lot" });

        InvalidCastException error = Assert.Throws<InvalidCastException>(() => message.As<OrderCreated>());

        Assert.Contains("orders/created", error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(OrderCreated), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task As_ScalarPayloadToARecord_ThrowsInvalidCastException()
    {
        TopicMessage message = await ReceiveAsync("just text");

        Assert.Throws<InvalidCastException>(() => message.As<OrderCreated>());
    }

    [Fact]
    public async Task As_RecordPayloadToAScalar_ThrowsInvalidCastException()
    {
        TopicMessage message = await ReceiveAsync(new OrderCreated("o-6", 1));

        Assert.Throws<InvalidCastException>(() => message.As<int>());
    }

    [Fact]
    public async Task As_TypeThatJsonCannotCreate_ThrowsInvalidCastException()
    {
        TopicMessage message = await ReceiveAsync(new { Name = "square" });

        Assert.Throws<InvalidCastException>(() => message.As<IShape>());
    }

    [Fact]
    public async Task As_PayloadThatHasNoJsonForm_ThrowsInvalidCastException()
    {
        TopicMessage message = await ReceiveAsync(new { OrderId = "o-7", Callback = (Action)(() => { }) });

        Assert.Throws<InvalidCastException>(() => message.As<OrderCreated>());
    }

    [Fact]
    public async Task ToString_IsTheTopic()
    {
        TopicMessage message = await ReceiveAsync(new { });

        Assert.Equal("orders/created", message.ToString());
    }

    private static async Task<TopicMessage> ReceiveAsync(object payload)
    {
        await using IMessageBus bus = MessageBus.Create(_ => { });
        TopicMessage? received = null;
        using Subscription subscription = bus.Subscribe("orders/#", (TopicMessage m) => received = m);
        await bus.PublishAsync("orders/created", payload);
        Assert.NotNull(received);
        return received;
    }
}
