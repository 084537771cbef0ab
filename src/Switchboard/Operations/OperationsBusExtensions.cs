using Switchboard.Bus;
using Switchboard.Outbox;
using Switchboard.Transport;

namespace Switchboard.Operations;

/// <summary>Builds the operations read model of a bus, and of an outbox store on its own.</summary>
public static class OperationsBusExtensions
{
    /// <summary>
    /// Returns the operations read model of a bus: one source per destination the bus consumes on its transport (its own
    /// queue and every routed destination it handles, in the consumer group named after the bus), and its outbox when it
    /// has one; then <paramref name="extraSources"/> (other groups, other transports).
    /// </summary>
    /// <param name="bus">The bus (a scope gives its root's).</param>
    /// <param name="extraSources">More sources to show.</param>
    /// <returns>The read model.</returns>
    public static SwitchboardOperations GetOperations(this IMessageBus bus, params IEnumerable<OperationsSource> extraSources)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(extraSources);
        SwitchboardBus core = bus.Core.Root;
        BusRuntime runtime = core.Runtime;
        string group = runtime.Options.Name;
        List<OperationsSource> sources = [];
        string[] destinations = [runtime.EndpointName, .. runtime.Router.ConsumedDestinations.Where(d => d != runtime.EndpointName).Order(StringComparer.Ordinal)];
        foreach (string destination in destinations)
        {
            sources.Add(ForConsumedDestination(core, runtime.Transport, destination, group));
        }

        if (core.Outbox is { } outbox)
        {
            sources.Add(new OperationsSource("outbox", outbox.Store.Name, group, outbox.DeadLetters, async ct =>
            {
                OutboxStatistics statistics = await outbox.GetStatisticsAsync(ct).ConfigureAwait(false);
                return new DestinationInfo { Backlog = statistics.Pending, OldestAge = statistics.OldestPendingAge };
            }));
        }

        sources.AddRange(extraSources);
        return new SwitchboardOperations(sources);
    }

    /// <summary>
    /// Creates the source of an outbox store read on its own, without a bus (operations tools): its dead rows, and its
    /// pending rows as the backlog. It never creates tables; a replayed row is dispatched by the application's dispatcher
    /// at its next wake-up or poll.
    /// </summary>
    /// <param name="store">The store.</param>
    /// <param name="consumerGroup">The name the dead letters are listed under (the bus name of the application that writes them).</param>
    /// <returns>The source, with the id <c>outbox/{store name}/{consumerGroup}</c>.</returns>
    public static OperationsSource CreateOutboxSource(IOutboxStore store, string consumerGroup = "outbox")
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(consumerGroup);
        OutboxDeadLetterQueue queue = new(store, consumerGroup, static _ => Task.CompletedTask, static () => { });
        return new OperationsSource("outbox", store.Name, consumerGroup, queue, async ct =>
        {
            OutboxCounts counts = await store.CountAsync(ct).ConfigureAwait(false);
            TimeSpan? age = counts.OldestPendingAt is { } oldest ? TimeProvider.System.GetUtcNow() - oldest : null;
            return new DestinationInfo { Backlog = counts.Pending, OldestAge = age < TimeSpan.Zero ? TimeSpan.Zero : age };
        });
    }

    private static OperationsSource ForConsumedDestination(SwitchboardBus bus, ITransport transport, string destination, string group)
    {
        ITransportInspector? inspector = transport as ITransportInspector;
        return new OperationsSource(transport.Name, destination, group, transport.GetDeadLetterQueue(destination, group), async ct =>
        {
            DestinationInfo info = inspector is null ? new DestinationInfo() : await inspector.InspectAsync(destination, group, ct).ConfigureAwait(false);
            if (bus.FindConsumer(destination)?.LastError is { } last && (info.LastErrorAt is null || last.At >= info.LastErrorAt))
            {
                info = info with { LastError = last.Error, LastErrorAt = last.At };
            }

            return info;
        });
    }
}
