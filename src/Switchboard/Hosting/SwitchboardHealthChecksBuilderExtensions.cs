using Microsoft.Extensions.Diagnostics.HealthChecks;
using Switchboard;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the health checks of the bus added with <c>services.AddSwitchboard(...)</c>.</summary>
public static class SwitchboardHealthChecksBuilderExtensions
{
    /// <summary>The tag on every check this registers.</summary>
    public const string Tag = "switchboard";

    /// <summary>
    /// Registers a health check for every part of the bus that reports one (see
    /// <see cref="SwitchboardHealthChecks.GetHealthChecks(IMessageBus)"/>): its transport (<c>switchboard:transport:redis</c>,
    /// <c>switchboard:transport:rabbitmq</c>, ...), its outbox (<c>switchboard:outbox:sqlite</c>, ...) and the PostgreSQL
    /// outbox's <c>LISTEN</c> connection (<c>switchboard:outbox:postgres:listener</c>). Each is tagged <c>switchboard</c>,
    /// with its kind and system (<c>transport</c>, <c>redis</c>), and with <paramref name="tags"/>. The checks are found when
    /// the health check service is first created, from the bus as it was built, so they follow the bus's configuration.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="tags">Tags added to every check, for example <c>ready</c>.</param>
    /// <param name="failureStatus">The status reported when a check fails; <see langword="null"/> for <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="timeout">How long one check may take; <see langword="null"/> for no limit beyond the caller's.</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddSwitchboard(
        this IHealthChecksBuilder builder,
        IEnumerable<string>? tags = null,
        HealthStatus? failureStatus = null,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        string[] extraTags = tags is null ? [] : [.. tags];

        // The parts of the bus are known only once it is built: the registrations are added when the health check service
        // reads its options (after the host validated its options, and with the same bus the host starts).
        builder.Services.AddOptions<HealthCheckServiceOptions>().Configure<IServiceProvider>((options, provider) =>
        {
            IMessageBus bus = provider.GetService<IMessageBus>() ?? throw new InvalidOperationException(
                "AddHealthChecks().AddSwitchboard() reports the bus registered with services.AddSwitchboard(...), and there is none.");
            foreach (ComponentHealthCheck check in bus.GetHealthChecks())
            {
                string[] checkTags = [.. new[] { Tag }.Concat(check.Tags).Concat(extraTags).Distinct(StringComparer.Ordinal)];
                options.Registrations.Add(new HealthCheckRegistration($"{Tag}:{check.Name}", check.Check, failureStatus, checkTags, timeout));
            }
        });
        return builder;
    }
}
