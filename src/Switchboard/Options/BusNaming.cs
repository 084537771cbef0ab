using System.Reflection;
using Microsoft.Extensions.Logging;
using Switchboard.Transport;

namespace Switchboard;

/// <summary>
/// Gives a bus on a broker a name of its own. The name is the consumer group: two services left at one default name would
/// share a group and silently split each other's events, so a bus on a broker (a transport that declares <see cref="TransportCapabilities.Durable"/>) without a name takes its entry assembly's.
/// </summary>
internal static class BusNaming
{
    public static void NameForTransport(BusOptions options, ITransport? transport, ILoggerFactory loggerFactory)
        => NameForTransport(options, transport, Assembly.GetEntryAssembly()?.GetName().Name, loggerFactory);

    internal static void NameForTransport(BusOptions options, ITransport? transport, string? entryAssembly, ILoggerFactory loggerFactory)
    {
        // A broker keeps messages beyond the process (Durable): that is where a consumer group outlives one bus.
        if (options.NameIsSet || transport is null || (transport.Capabilities & TransportCapabilities.Durable) == 0)
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(entryAssembly))
        {
            throw new BusConfigurationException(
                $"BusOptions.Name is not set, and on {transport.Name} it is the consumer group this bus joins: services with the same name share (split) " +
                "the messages of a destination. There is no entry assembly to name it after; set b.Configure(o => o.Name = \"your-service\").");
        }

        options.Name = entryAssembly;
        Observability.Log.BusNamedAfterEntryAssembly(loggerFactory.CreateLogger("Switchboard"), entryAssembly, transport.Name);
    }
}
