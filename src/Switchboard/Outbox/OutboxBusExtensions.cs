using Switchboard.Bus;

namespace Switchboard.Outbox;

/// <summary>Reaches the outbox of a bus.</summary>
public static class OutboxBusExtensions
{
    /// <summary>Returns the bus's outbox (<see cref="BusBuilder.UseOutbox(IOutboxStore, Action{OutboxOptions}?)"/>).</summary>
    /// <param name="bus">The bus, or one of its scopes.</param>
    /// <returns>The outbox.</returns>
    /// <exception cref="InvalidOperationException">The bus has no outbox.</exception>
    public static IOutbox GetOutbox(this IMessageBus bus)
    {
        ArgumentNullException.ThrowIfNull(bus);
        return bus is SwitchboardBus { Outbox: { } outbox }
            ? outbox
            : throw new InvalidOperationException(
                $"The bus '{(bus as SwitchboardBus)?.Name}' has no outbox. Configure one with UseSqliteOutbox, UsePostgresOutbox or BusBuilder.UseOutbox.");
    }

    /// <summary>Returns the bus's outbox, or <see langword="null"/> when it has none.</summary>
    /// <param name="bus">The bus.</param>
    /// <returns>The outbox, or <see langword="null"/>.</returns>
    public static IOutbox? TryGetOutbox(this IMessageBus bus) => (bus as SwitchboardBus)?.Outbox;
}
