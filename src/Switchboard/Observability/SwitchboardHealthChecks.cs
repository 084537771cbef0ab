using Switchboard.Bus;
using Switchboard.Outbox;

namespace Switchboard;

/// <summary>The health checks of a bus: its transport, its outbox, and whatever else of it implements <see cref="IHealthCheckSource"/>.</summary>
public static class SwitchboardHealthChecks
{
    /// <summary>
    /// Returns the health checks of the parts a bus uses: its transport (when it reports one; the in-memory transport has
    /// nothing to check), its outbox (<see cref="OutboxHealthCheck"/>) and its outbox store's own checks (the PostgreSQL
    /// store's <c>LISTEN</c> connection), and its response store's. <c>services.AddHealthChecks().AddSwitchboard()</c>
    /// registers these; call this to register them some other way, for example for a bus made with <see cref="MessageBus.Create"/>.
    /// </summary>
    /// <param name="bus">The bus.</param>
    /// <returns>The checks, with names unique within the bus.</returns>
    public static IReadOnlyList<ComponentHealthCheck> GetHealthChecks(this IMessageBus bus)
    {
        ArgumentNullException.ThrowIfNull(bus);
        List<ComponentHealthCheck> checks = [];
        if (bus is not SwitchboardBus root)
        {
            return checks;
        }

        List<object> asked = [];
        Add(root.Runtime.Transport);
        if (root.Outbox is { } outbox)
        {
            checks.Add(new ComponentHealthCheck($"outbox:{outbox.Store.Name}", new OutboxHealthCheck(outbox), ["outbox", outbox.Store.Name]));
            Add(outbox.Store);
        }

        Add(root.Runtime.ResponseStore);
        return checks;

        void Add(object part)
        {
            // A part used twice (a store that is also the response store) is asked once.
            if (part is IHealthCheckSource source && !asked.Exists(p => ReferenceEquals(p, part)))
            {
                asked.Add(part);
                foreach (ComponentHealthCheck check in source.GetHealthChecks())
                {
                    if (!checks.Exists(c => string.Equals(c.Name, check.Name, StringComparison.Ordinal)))
                    {
                        checks.Add(check);
                    }
                }
            }
        }
    }
}
