using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Switchboard;

/// <summary>
/// A part of a bus that reports its own health: a transport, an outbox store, a response store. The bus asks the parts it
/// uses for their checks, so <c>services.AddHealthChecks().AddSwitchboard()</c> registers every one of them, and a new
/// transport or store takes part by implementing this interface.
/// </summary>
public interface IHealthCheckSource
{
    /// <summary>Returns this part's health checks, each with a name unique within the bus and its tags.</summary>
    /// <returns>The checks; empty when there is nothing to check.</returns>
    IReadOnlyList<ComponentHealthCheck> GetHealthChecks();
}

/// <summary>One health check of a part of the bus.</summary>
public sealed class ComponentHealthCheck
{
    /// <summary>Creates the description of one check.</summary>
    /// <param name="name">The check's name within the bus; see <see cref="Name"/>.</param>
    /// <param name="check">The check.</param>
    /// <param name="tags">Its tags; see <see cref="Tags"/>.</param>
    public ComponentHealthCheck(string name, IHealthCheck check, IReadOnlyList<string> tags)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(tags);
        Name = name;
        Check = check;
        Tags = tags;
    }

    /// <summary>
    /// Gets the check's name within the bus, by convention <c>{kind}:{system}</c>, for example <c>transport:redis</c> or
    /// <c>outbox:postgres:listener</c>; <c>AddSwitchboard()</c> registers it as <c>switchboard:{Name}</c>.
    /// </summary>
    public string Name { get; }

    /// <summary>Gets the check. It never reports connection strings or credentials.</summary>
    public IHealthCheck Check { get; }

    /// <summary>Gets its tags, for example <c>transport</c> and <c>redis</c>; <c>switchboard</c> is added to every check.</summary>
    public IReadOnlyList<string> Tags { get; }
}
