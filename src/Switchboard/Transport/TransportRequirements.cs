namespace Switchboard.Transport;

/// <summary>
/// What a bus's configuration asks of its transport, checked against <see cref="ITransport.Capabilities"/> when the bus is
/// built, so that an option the transport cannot honour fails at start with the transport and the capability named,
/// instead of being silently ignored at run time.
/// </summary>
internal static class TransportRequirements
{
    /// <summary>Throws when the transport lacks what the bus is configured to rely on.</summary>
    /// <param name="builder">The bus's configuration.</param>
    /// <param name="transport">The transport the bus will use (the default in-memory one when none was given).</param>
    /// <exception cref="BusConfigurationException">A required capability is missing.</exception>
    public static void Check(BusBuilder builder, ITransport transport)
    {
        TransportCapabilities declared = transport.Capabilities;
        TransportCapabilities missing = builder.Options.RequiredCapabilities & ~declared;
        if (missing != TransportCapabilities.None)
        {
            throw new BusConfigurationException(
                $"BusOptions.RequiredCapabilities asks for {missing}, which the transport '{transport.Name}' does not declare " +
                $"(it declares {declared}). Use a transport that does, or drop the requirement if the application can do without.");
        }

        // A result crosses the transport only through the response store: the worker that handles a request writes its
        // answer there and the waiting sender reads it. On a transport between processes (Durable) the bus's default store,
        // in this process's memory, never sees an answer written by another process, so requests would time out.
        if ((declared & TransportCapabilities.Durable) != 0 && builder.ResponseStore is null)
        {
            foreach (KeyValuePair<Type, string?> route in builder.TransportRoutes)
            {
                if (BusBuilder.RequestResultType(route.Key) is not null)
                {
                    throw new BusConfigurationException(ResponsesStayInProcess(transport.Name, route.Key.Name));
                }
            }
        }
    }

    /// <summary>The message of a request over a transport between processes on a bus without a shared response store.</summary>
    /// <param name="transport">The transport's name.</param>
    /// <param name="messageType">The request's type name.</param>
    /// <returns>What is wrong and how to fix it.</returns>
    public static string ResponsesStayInProcess(string transport, string messageType)
        => $"{messageType} is a request routed to the transport '{transport}', which carries messages between processes " +
           $"(TransportCapabilities.Durable), but the bus has no response store shared between processes: an answer written by a " +
           $"worker in another process would never reach the waiting sender. Give every process the same store with " +
           $"UseResponseStore (for example a RedisResponseStore), or UseResponseStore(new InMemoryResponseStore()) when the " +
           $"senders and the workers always run in one process.";
}
