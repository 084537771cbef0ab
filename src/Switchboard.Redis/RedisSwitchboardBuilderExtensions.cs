using Microsoft.Extensions.Options;
using Switchboard.Hosting;
using Switchboard.Redis;

namespace Switchboard;

/// <summary>
/// Puts the bus registered with <c>services.AddSwitchboard(...)</c> on Redis with options from the options system, validated
/// when the host starts: <c>services.AddSwitchboard(b =&gt; ...).UseRedis(o =&gt; o.Bind(configuration.GetSection("Redis")))</c>.
/// </summary>
public static class RedisSwitchboardBuilderExtensions
{
    /// <summary>
    /// Uses a <see cref="RedisTransport"/> (owned by the bus) and a <see cref="RedisResponseStore"/> on its connection, with
    /// <see cref="RedisTransportOptions"/> from the options system. The options are validated at host start
    /// (<c>ValidateOnStart</c>): invalid or missing options stop the host with an <see cref="OptionsValidationException"/>
    /// naming the option, never quoting the connection string.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddSwitchboard</c>.</param>
    /// <param name="configure">Configures the options, for example <c>o =&gt; o.Bind(section)</c> or <c>o =&gt; o.Configure(x =&gt; x.ConnectionString = ...)</c>.</param>
    /// <param name="responseKeyPrefix">The prefix of the response keys; <see langword="null"/> for <c>{StreamPrefix}:response:</c>.</param>
    /// <returns>The builder.</returns>
    public static ISwitchboardBuilder UseRedis(this ISwitchboardBuilder builder, Action<OptionsBuilder<RedisTransportOptions>> configure, string? responseKeyPrefix = null)
        => builder.UseValidatedOptions(configure, o => o.Validate(), (b, o) => b.UseRedis(o, responseKeyPrefix));
}
