using System.Text.Json.Serialization;

namespace Switchboard.AmazonSqs;

/// <summary>Source-generated JSON for the packed headers and the redrive policy.</summary>
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class SqsJsonContext : JsonSerializerContext;
