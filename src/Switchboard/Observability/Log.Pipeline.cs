using Microsoft.Extensions.Logging;

namespace Switchboard.Observability;

internal static partial class Log
{
    [LoggerMessage(1710, LogLevel.Warning, "BusOptions.Name is not set: the bus on {Transport} is named '{Name}' after its entry assembly, and joins consumer groups under that name (buses sharing a name share the work); set the name to make it explicit")]
    public static partial void BusNamedAfterEntryAssembly(ILogger logger, string name, string transport);
}
