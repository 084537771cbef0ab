using System.Buffers;
using System.Text;
using System.Text.Json;
using Switchboard.Bus;
using Switchboard.Serialization;
using Switchboard.Transport;
using Switchboard.Transport.InMemory;

namespace Switchboard.Tests.Serialization;

public enum SerColor
{
    Red,
    Blue,
}

public sealed record SerLine(string Sku, int Quantity);
public sealed record SerOrder(string OrderId, long AmountCents, DateTimeOffset At, SerColor Color, IReadOnlyList<SerLine> Lines, Dictionary<string, string> Tags, decimal? Discount);

[MessageName("orders.created.v1")]
public sealed record SerNamed(string Id);

public sealed record SerPlain(string Id);
public sealed record SerOther(string Id);
public sealed record SerResult(int Value);
public sealed record SerQuestion(int N) : IRequest<SerResult>;

[MessageName("shared.name")]
public sealed record SerClashA(string Id);

[MessageName("shared.name")]
public sealed record SerClashB(string Id);

public sealed class SerializationTests
{
    private static MessageTypeRegistry RegistryOf(IMessageBus bus) => ((SwitchboardBus)bus).Runtime.Types;

    private static byte[] Serialize(IMessageSerializer serializer, object value)
    {
        ArrayBufferWriter<byte> buffer = new();
        serializer.Serialize(value, value.GetType(), buffer);
        return buffer.WrittenSpan.ToArray();
    }

    [Fact]
    public void JsonMessageSerializer_round_trips_a_message_with_nested_collections_dates_enums_and_nulls()
    {
        JsonMessageSerializer serializer = new();
        SerOrder order = new(
            "ord-1",
            1999,
            new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.FromHours(2)),
            SerColor.Blue,
            [new SerLine("sku-1", 2), new SerLine("sku-2", 1)],
            new Dictionary<string, string> { ["channel"] = "web" },
            null);

        SerOrder back = Assert.IsType<SerOrder>(serializer.Deserialize(Serialize(serializer, order), typeof(SerOrder)));

        Assert.Equal(order.OrderId, back.OrderId);
        Assert.Equal(order.AmountCents, back.AmountCents);
        Assert.Equal(order.At, back.At);
        Assert.Equal(order.At.Offset, back.At.Offset);
        Assert.Equal(order.Color, back.Color);
        Assert.Equal(order.Lines, back.Lines);
        Assert.Equal(order.Tags, back.Tags);
        Assert.Null(back.Discount);
    }

    [Fact]
    public void JsonMessageSerializer_writes_web_style_camel_case_json()
    {
        JsonMessageSerializer serializer = new();

        string json = Encoding.UTF8.GetString(Serialize(serializer, new SerLine("sku-1", 2)));

        Assert.Equal("""{"sku":"sku-1","quantity":2}""", json);
        Assert.Equal("application/json", serializer.ContentType);
        Assert.Equal(new SerLine("a", 1), serializer.Deserialize("""{"SKU":"a","Quantity":1}"""u8, typeof(SerLine)));
    }

    [Fact]
    public void JsonMessageSerializer_uses_the_options_it_is_given()
    {
        JsonMessageSerializer serializer = new(new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });

        string json = Encoding.UTF8.GetString(Serialize(serializer, new SerOrder("o", 1, default, SerColor.Red, [], [], 1.5m)));

        Assert.Contains("\"order_id\":\"o\"", json, StringComparison.Ordinal);
        Assert.Contains("\"amount_cents\":1", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("""{"sku": 5, "quantity": "many"}""")]
    [InlineData("")]
    public void JsonMessageSerializer_reports_a_malformed_body_as_MessageSerializationException(string body)
    {
        JsonMessageSerializer serializer = new();

        MessageSerializationException error = Assert.Throws<MessageSerializationException>(
            () => serializer.Deserialize(Encoding.UTF8.GetBytes(body), typeof(SerLine)));
        Assert.Contains(nameof(SerLine), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void JsonMessageSerializer_reports_a_value_without_a_json_form_as_MessageSerializationException()
    {
        JsonMessageSerializer serializer = new();

        Assert.Throws<MessageSerializationException>(() => serializer.Serialize(IntPtr.Zero, typeof(IntPtr), new ArrayBufferWriter<byte>()));
    }

    [Fact]
    public async Task A_type_with_MessageName_is_registered_under_that_stable_name()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<SerNamed>(_ => { }));
        MessageTypeRegistry registry = RegistryOf(bus);

        Assert.Equal("orders.created.v1", registry.GetName(typeof(SerNamed)));
        Assert.True(registry.TryGetType("orders.created.v1", out Type? type));
        Assert.Equal(typeof(SerNamed), type);
        Assert.False(registry.TryGetType(typeof(SerNamed).FullName!, out _));
    }

    [Fact]
    public async Task A_type_without_a_name_is_registered_under_its_full_name()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<SerPlain>(_ => { }));
        MessageTypeRegistry registry = RegistryOf(bus);

        Assert.Equal("Switchboard.Tests.Serialization.SerPlain", registry.GetName(typeof(SerPlain)));
        Assert.True(registry.TryGetType("Switchboard.Tests.Serialization.SerPlain", out Type? type));
        Assert.Equal(typeof(SerPlain), type);
    }

    [Fact]
    public async Task AddMessageType_gives_a_type_its_wire_name_even_when_a_handler_registers_it_too()
    {
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.Handle<SerPlain>(_ => { });
            b.AddMessageType<SerPlain>("plain.v2");
            b.AddMessageType<SerOther>("other.v1");
        });
        MessageTypeRegistry registry = RegistryOf(bus);

        Assert.Equal("plain.v2", registry.GetName(typeof(SerPlain)));
        Assert.Equal("other.v1", registry.GetName(typeof(SerOther)));
        Assert.True(registry.IsRegistered(typeof(SerOther)));
        Assert.True(registry.TryGetType("other.v1", out Type? other));
        Assert.Equal(typeof(SerOther), other);
        Assert.False(registry.TryGetType(typeof(SerPlain).FullName!, out _));
    }

    [Fact]
    public async Task Handled_types_and_their_result_types_are_on_the_allow_list_and_nothing_else()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<SerQuestion, SerResult>(q => new SerResult(q.N)));
        MessageTypeRegistry registry = RegistryOf(bus);

        Assert.True(registry.IsRegistered(typeof(SerQuestion)));
        Assert.True(registry.IsRegistered(typeof(SerResult)));
        Assert.False(registry.IsRegistered(typeof(SerOther)));
        Assert.Equal(2, registry.Types.Count());
    }

    [Fact]
    public void Two_types_under_one_name_are_a_BusConfigurationException()
    {
        BusConfigurationException error = Assert.Throws<BusConfigurationException>(() => MessageBus.Create(b =>
        {
            b.AddMessageType<SerPlain>("same");
            b.AddMessageType<SerOther>("same");
        }));

        Assert.Contains("'same'", error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(SerPlain), error.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(SerOther), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_types_with_the_same_MessageName_are_a_BusConfigurationException()
    {
        Assert.Throws<BusConfigurationException>(() => MessageBus.Create(b =>
        {
            b.Handle<SerClashA>(_ => { });
            b.Handle<SerClashB>(_ => { });
        }));
    }

    [Fact]
    public void An_explicit_name_that_takes_another_type_default_name_is_a_BusConfigurationException()
    {
        Assert.Throws<BusConfigurationException>(() => MessageBus.Create(b =>
        {
            b.Handle<SerNamed>(_ => { });
            b.AddMessageType<SerPlain>("orders.created.v1");
        }));
    }

    [Fact]
    public void One_type_under_two_explicit_names_is_a_BusConfigurationException()
    {
        Assert.Throws<BusConfigurationException>(() => MessageBus.Create(b =>
        {
            b.AddMessageType<SerPlain>("plain.v1");
            b.AddMessageType<SerPlain>("plain.v2");
        }));
    }

    [Fact]
    public void An_empty_name_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => MessageBus.Create(b => b.AddMessageType<SerPlain>(" ")));
    }

    [Fact]
    public async Task TryGetType_of_an_unregistered_name_is_false_and_never_loads_a_type_by_name()
    {
        await using IMessageBus bus = MessageBus.Create(b => b.Handle<SerPlain>(_ => { }));
        MessageTypeRegistry registry = RegistryOf(bus);

        Assert.False(registry.TryGetType("nobody.knows.this", out Type? unknown));
        Assert.Null(unknown);
        Assert.False(registry.TryGetType(typeof(SerOther).FullName!, out _));
        Assert.False(registry.TryGetType(typeof(SerOther).AssemblyQualifiedName!, out _));
        Assert.False(registry.TryGetType(typeof(System.Diagnostics.Process).AssemblyQualifiedName!, out _));
        Assert.False(registry.TryGetType("System.IO.FileInfo", out _));
    }

    [Fact]
    public async Task The_stable_name_is_what_goes_on_the_wire_as_ce_type()
    {
        InMemoryTransport transport = new();
        ITransportReceiver spy = await transport.CreateReceiverAsync(new ReceiverOptions("switchboard", "spy", "spy-1"), CancellationToken.None);
        await using IMessageBus bus = MessageBus.Create(b =>
        {
            b.UseTransport(transport);
            b.Handle<SerNamed>(_ => { });
        });

        await bus.ExecuteAsync(new SerNamed("n-1"), new ExecuteOptions { Wait = false });

        using CancellationTokenSource cts = new(TimeSpan.FromSeconds(5));
        ReceivedMessage seen = await spy.ReceiveAsync(cts.Token);
        Assert.Equal("orders.created.v1", seen.Message.GetHeader(MessageHeaders.MessageType));
        Assert.Equal("application/json", seen.Message.GetHeader(MessageHeaders.ContentType));
        Assert.Equal("""{"id":"n-1"}""", Encoding.UTF8.GetString(seen.Message.Body.Span));
        await seen.AckAsync(CancellationToken.None);
    }
}
