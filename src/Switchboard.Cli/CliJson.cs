using System.Text.Json;
using System.Text.Json.Serialization;

namespace Switchboard.Cli;

/// <summary>The JSON of <c>--json</c> output and of the dashboard API: web names, enums as strings, nulls left out.</summary>
internal static class CliJson
{
    public static readonly JsonSerializerOptions Options = Create();

    private static JsonSerializerOptions Create()
    {
        JsonSerializerOptions options = new(JsonSerializerDefaults.Web) { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
