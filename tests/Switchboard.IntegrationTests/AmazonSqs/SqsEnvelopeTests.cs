using System.Text;
using Amazon.SQS.Model;
using Switchboard.AmazonSqs;
using Switchboard.Transport;

namespace Switchboard.IntegrationTests.AmazonSqs;

/// <summary>
/// The default wire form (no server): one JSON envelope in the body, no attribute; a JSON payload kept as it is, any other
/// payload in base64; a body that only looks like an envelope is a plain payload, never an error.
/// </summary>
public sealed class SqsEnvelopeTests
{
    private static readonly Dictionary<string, string> Headers = new(StringComparer.Ordinal)
    {
        [MessageHeaders.MessageId] = "m-1",
        [MessageHeaders.MessageType] = "orders.created",
        [MessageHeaders.ContentType] = "application/json",
        ["x-quote"] = "say \"hi\" \\ <b>&</b>",
        ["x-unicode"] = "naïve — 東京 🚀",
        ["x-empty"] = string.Empty,
    };

    [Fact]
    public void A_json_payload_travels_as_it_is_inside_the_envelope_with_every_header_and_no_attribute()
    {
        byte[] payload = Encoding.UTF8.GetBytes("{\"id\":\"ü\",\"lines\":[1,2,{\"x\":null}]}");
        TransportMessage message = new() { Destination = "orders", Headers = Headers, Body = payload, PartitionKey = "customer-7" };

        SqsWire.Encoded encoded = SqsWire.Encode(message, headersAsAttributes: false, headersInBody: true);

        Assert.Empty(encoded.Attributes);
        Assert.Equal("orders.created", encoded.MessageType);
        Assert.StartsWith("{\"sb-envelope\":1,", encoded.Body, StringComparison.Ordinal);
        Assert.EndsWith(",\"data\":{\"id\":\"ü\",\"lines\":[1,2,{\"x\":null}]}}", encoded.Body, StringComparison.Ordinal);
        Assert.Equal(Encoding.UTF8.GetByteCount(encoded.Body), encoded.Size);

        TransportMessage back = RoundTrip(encoded);
        Assert.Equal(Headers.OrderBy(h => h.Key, StringComparer.Ordinal), back.Headers.OrderBy(h => h.Key, StringComparer.Ordinal));
        Assert.Equal("customer-7", back.PartitionKey);
        Assert.Equal(payload, back.Body.ToArray());
    }

    [Theory]
    [InlineData("text/plain", "plain text, not JSON")]
    [InlineData("application/json", "{\"broken\":")]
    [InlineData("application/json", "\"\uFFFE is refused by SQS\"")]
    [InlineData("application/octet-stream", "\u0001\u0002binary")]
    [InlineData(null, "")]
    public void Any_other_payload_travels_in_base64_inside_the_envelope_and_comes_back_as_it_was(string? contentType, string text)
    {
        Dictionary<string, string> headers = new(StringComparer.Ordinal) { [MessageHeaders.MessageId] = "m-2" };
        if (contentType is not null)
        {
            headers[MessageHeaders.ContentType] = contentType;
        }

        byte[] payload = Encoding.UTF8.GetBytes(text);
        SqsWire.Encoded encoded = SqsWire.Encode(new TransportMessage { Destination = "orders", Headers = headers, Body = payload }, headersAsAttributes: false, headersInBody: true);

        Assert.Contains("\"data_base64\":", encoded.Body, StringComparison.Ordinal);
        Assert.True(Encoding.UTF8.GetByteCount(encoded.Body) == encoded.Body.Length, "the envelope is ASCII");
        TransportMessage back = RoundTrip(encoded);
        Assert.Equal(payload, back.Body.ToArray());
        Assert.Equal(headers, back.Headers);
    }

    [Theory]
    [InlineData("{\"sb-envelope\":1,\"headers\":{\"ce-id\":7},\"data\":{}}")]
    [InlineData("{\"sb-envelope\":1,\"headers\":{\"ce-id\":\"x\"}, \"data\":")]
    [InlineData("{\"sb-envelope\":1,\"data_base64\":\"not base64!\"}")]
    public void A_body_that_only_looks_like_an_envelope_is_a_plain_payload(string body)
    {
        Message received = new() { MessageId = "sqs-9", Body = body, MessageAttributes = [] };

        TransportMessage back = SqsWire.Decode("orders", received, SqsWire.ReadHeaders(received));

        Assert.Equal(body, Encoding.UTF8.GetString(back.Body.Span));
        Assert.Equal("sqs-9", back.Headers[MessageHeaders.MessageId]);
    }

    [Fact]
    public void A_plain_body_with_packed_headers_is_read_as_before()
    {
        TransportMessage message = new() { Destination = "orders", Headers = Headers, Body = Encoding.UTF8.GetBytes("{\"id\":1}") };

        SqsWire.Encoded encoded = SqsWire.Encode(message, headersAsAttributes: false, headersInBody: false);

        Assert.Equal("{\"id\":1}", encoded.Body);
        Assert.Equal([SqsWire.PackedHeaders], encoded.Attributes.Keys);
        Assert.Equal(message.Body.ToArray(), RoundTrip(encoded).Body.ToArray());
    }

    [Fact]
    public void Unknown_members_a_later_version_adds_are_skipped()
    {
        const string body = "{\"sb-envelope\":1,\"future\":{\"a\":[1,2]},\"headers\":{\"ce-id\":\"m-3\"},\"data\":[true],\"also\":\"later\"}";
        Message received = new() { MessageId = "sqs-3", Body = body, MessageAttributes = [] };

        TransportMessage back = SqsWire.Decode("orders", received, SqsWire.ReadHeaders(received));

        Assert.Equal("[true]", Encoding.UTF8.GetString(back.Body.Span));
        Assert.Equal("m-3", back.Headers[MessageHeaders.MessageId]);
    }

    private static TransportMessage RoundTrip(SqsWire.Encoded encoded)
    {
        Message received = new() { MessageId = "sqs-1", Body = encoded.Body, MessageAttributes = new(encoded.Attributes) };
        return SqsWire.Decode("orders", received, SqsWire.ReadHeaders(received));
    }
}
