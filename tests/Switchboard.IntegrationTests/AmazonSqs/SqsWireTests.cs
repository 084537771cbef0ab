using System.Text;
using Amazon.SQS.Model;
using Switchboard.AmazonSqs;
using Switchboard.Transport;

namespace Switchboard.IntegrationTests.AmazonSqs;

/// <summary>
/// The packed wire form every message takes by default (no server): all headers as JSON in one attribute, written and read
/// without intermediate dictionaries; what another producer wrote wrongly is left out, never fatal.
/// </summary>
public sealed class SqsWireTests
{
    [Fact]
    public void Packed_headers_round_trip_with_escaped_and_unusual_values_the_partition_key_and_a_text_body()
    {
        Dictionary<string, string> headers = new(StringComparer.Ordinal)
        {
            [MessageHeaders.MessageId] = "m-1",
            [MessageHeaders.MessageType] = "orders.created",
            [MessageHeaders.Time] = "2026-12-07T05:00:00.0000000+00:00",
            ["x-quote"] = "say \"hi\" \\ <b>&</b>",
            ["x-unicode"] = "naïve — 東京 🚀",
            ["x-empty"] = string.Empty,
            ["name with \"quotes\""] = "kept",
        };
        TransportMessage message = new() { Destination = "orders", Headers = headers, Body = Encoding.UTF8.GetBytes("{\"id\":\"ü\"}"), PartitionKey = "customer-7" };

        SqsWire.Encoded encoded = SqsWire.Encode(message, headersAsAttributes: false);

        string json = Assert.Single(encoded.Attributes, a => a.Key == SqsWire.PackedHeaders).Value.StringValue;
        Assert.Single(encoded.Attributes);
        Assert.Equal("orders.created", encoded.MessageType);
        Assert.Equal("{\"id\":\"ü\"}", encoded.Body);
        Assert.True(Encoding.UTF8.GetByteCount(json) == json.Length, "the JSON is ASCII (everything else escaped)");
        Assert.Equal(Encoding.UTF8.GetByteCount(encoded.Body) + SqsWire.PackedHeaders.Length + "String".Length + json.Length, encoded.Size);

        TransportMessage back = SqsWire.Decode("orders", Received(encoded), SqsWire.ReadHeaders(Received(encoded)));
        Assert.Equal(headers.OrderBy(h => h.Key, StringComparer.Ordinal), back.Headers.OrderBy(h => h.Key, StringComparer.Ordinal));
        Assert.Equal("customer-7", back.PartitionKey);
        Assert.Equal(message.Body.ToArray(), back.Body.ToArray());
    }

    [Theory]
    [InlineData("\u0001binary")]
    [InlineData("line\u000Bfeed")]
    public void A_body_with_a_character_SQS_refuses_travels_as_base64_and_comes_back_as_it_was(string text)
    {
        byte[] body = Encoding.UTF8.GetBytes(text);
        TransportMessage message = new() { Destination = "orders", Headers = new Dictionary<string, string> { [MessageHeaders.MessageId] = "m-2" }, Body = body };

        SqsWire.Encoded encoded = SqsWire.Encode(message, headersAsAttributes: false);

        Assert.Equal(Convert.ToBase64String(body), encoded.Body);
        TransportMessage back = SqsWire.Decode("orders", Received(encoded), SqsWire.ReadHeaders(Received(encoded)));
        Assert.Equal(body, back.Body.ToArray());
        Assert.False(back.Headers.ContainsKey(SqsWire.BodyEncoding));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[\"a\",\"b\"]")]
    [InlineData("{\"ce-type\":\"t\",\"count\":3}")]
    [InlineData("{\"ce-type\":\"t\",\"ce-id\":")]
    [InlineData("{\"ce-type\":null}")]
    public void Packed_headers_another_producer_wrote_wrongly_are_left_out_and_the_other_attributes_kept(string packed)
    {
        Message received = new()
        {
            MessageId = "sqs-1",
            Body = "{}",
            MessageAttributes = new Dictionary<string, MessageAttributeValue>
            {
                [SqsWire.PackedHeaders] = new() { DataType = "String", StringValue = packed },
                ["ce-source"] = new() { DataType = "String", StringValue = "/elsewhere" },
            },
        };

        Dictionary<string, string> headers = SqsWire.ReadHeaders(received);

        Assert.Equal(new Dictionary<string, string> { ["ce-source"] = "/elsewhere" }, headers);
    }

    private static Message Received(SqsWire.Encoded encoded) => new() { MessageId = "sqs-1", Body = encoded.Body, MessageAttributes = new(encoded.Attributes) };
}
