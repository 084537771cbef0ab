using System.Diagnostics.Metrics;

namespace Switchboard.Transport;

/// <summary>
/// Whether one transport's connection to its broker is up, and how often it went down: the one piece every transport
/// reports its outages to, so that they are counted, logged and reported by health checks the same way.
/// </summary>
/// <remarks>
/// <para>
/// A transport calls <see cref="ReportLost"/> when its client library says the connection broke, and
/// <see cref="ReportRestored"/> when it is back. An outage is counted once however many times it is reported, on the
/// <c>Switchboard</c> meter: <c>switchboard.connection.failures</c> when it begins and
/// <c>switchboard.connection.restorations</c> when it ends, both tagged <c>messaging.system</c> with
/// <see cref="System"/>. <see cref="ConnectionHealthCheck"/> reads the state.
/// </para>
/// <para>Only exception type names are kept: client messages can name hosts, users and options.</para>
/// </remarks>
public sealed class ConnectionMonitor
{
    /// <summary>The instrument counting outages that began.</summary>
    public const string FailuresInstrument = "switchboard.connection.failures";

    /// <summary>The instrument counting outages that ended.</summary>
    public const string RestorationsInstrument = "switchboard.connection.restorations";

    private static readonly Counter<long> Failures = SwitchboardDiagnostics.Meter.CreateCounter<long>(
        FailuresInstrument, unit: "{failure}", description: "Times a transport's connection to its broker broke (an outage begins).");

    private static readonly Counter<long> Restorations = SwitchboardDiagnostics.Meter.CreateCounter<long>(
        RestorationsInstrument, unit: "{restoration}", description: "Times a transport's connection to its broker came back (an outage ends).");

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly KeyValuePair<string, object?> _tag;
    private DateTimeOffset? _lostAt;
    private string? _lastFailure;
    private long _outages;

    /// <summary>Creates a monitor for a connection that is considered up until a loss is reported.</summary>
    /// <param name="system">The transport's name, the <c>messaging.system</c> tag (for example <c>redis</c>).</param>
    /// <param name="timeProvider">The clock that dates outages; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    public ConnectionMonitor(string system, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(system);
        System = system;
        _time = timeProvider ?? TimeProvider.System;
        _tag = new KeyValuePair<string, object?>(SwitchboardDiagnostics.Tags.System, system);
    }

    /// <summary>Gets the transport's name.</summary>
    public string System { get; }

    /// <summary>Gets a value indicating whether the connection is up (no loss reported since the last restoration).</summary>
    public bool IsConnected
    {
        get
        {
            lock (_gate)
            {
                return _lostAt is null;
            }
        }
    }

    /// <summary>Gets when the current outage began, or <see langword="null"/> while the connection is up.</summary>
    public DateTimeOffset? LostAt
    {
        get
        {
            lock (_gate)
            {
                return _lostAt;
            }
        }
    }

    /// <summary>Gets how many outages began since the monitor was created.</summary>
    public long Outages => Interlocked.Read(ref _outages);

    /// <summary>Gets the type name of the last reported cause of an outage, if any.</summary>
    public string? LastFailure
    {
        get
        {
            lock (_gate)
            {
                return _lastFailure;
            }
        }
    }

    /// <summary>Reports that the connection broke. Only the first report of an outage counts it.</summary>
    /// <param name="cause">What broke it, if known; only its type name is kept.</param>
    /// <returns><see langword="true"/> when this report began an outage.</returns>
    public bool ReportLost(Exception? cause = null)
    {
        lock (_gate)
        {
            if (cause is not null)
            {
                _lastFailure = cause.GetType().Name;
            }

            if (_lostAt is not null)
            {
                return false;
            }

            _lostAt = _time.GetUtcNow();
        }

        Interlocked.Increment(ref _outages);
        Failures.Add(1, _tag);
        return true;
    }

    /// <summary>Reports that the connection is up again. Only the first report after a loss counts it.</summary>
    /// <returns><see langword="true"/> when this report ended an outage.</returns>
    public bool ReportRestored()
    {
        lock (_gate)
        {
            if (_lostAt is null)
            {
                return false;
            }

            _lostAt = null;
        }

        Restorations.Add(1, _tag);
        return true;
    }

    /// <summary>Returns how long the current outage has lasted, or <see cref="TimeSpan.Zero"/> while the connection is up.</summary>
    /// <returns>The outage's duration so far.</returns>
    public TimeSpan GetOutageDuration()
    {
        DateTimeOffset? lostAt = LostAt;
        return lostAt is { } at ? _time.GetUtcNow() - at : TimeSpan.Zero;
    }
}
