using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Switchboard.Hosting;

namespace Switchboard.Tests.Hosting;

/// <summary>
/// <c>UseValidatedOptions</c>: the one way every transport and store takes its options from the options system, validated
/// when the host starts and applied when the bus is built.
/// </summary>
public sealed class ValidatedOptionsTests
{
    public sealed class WidgetOptions
    {
        public string? Endpoint { get; set; }

        public int Lanes { get; set; } = 1;

        public void Validate()
        {
            if (string.IsNullOrWhiteSpace(Endpoint))
            {
                throw new ArgumentException("WidgetOptions.Endpoint is required.", nameof(Endpoint));
            }

            if (Lanes < 1)
            {
                throw new ArgumentException($"WidgetOptions.Lanes must be positive (it is {Lanes}).", nameof(Lanes));
            }
        }
    }

    private static ServiceProvider Provider(Action<WidgetOptions> configure, List<WidgetOptions> applied)
    {
        ServiceCollection services = new();
        services.AddSwitchboard(b => b.Configure(o => o.Name = "widgets"))
            .UseValidatedOptions<WidgetOptions>(o => o.Configure(configure), o => o.Validate(), (_, o) => applied.Add(o));
        return services.BuildServiceProvider();
    }

    [Fact]
    public void InvalidOptions_FailTheStartupValidation_WithTheirOwnMessage()
    {
        List<WidgetOptions> applied = [];
        using ServiceProvider provider = Provider(o => { o.Endpoint = "e"; o.Lanes = 0; }, applied);

        OptionsValidationException ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Equal("WidgetOptions.Lanes must be positive (it is 0).", ex.Message);

        // Resolving the bus without a host validates them too: it is never built with them.
        Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IMessageBus>());
        Assert.Empty(applied);
    }

    [Fact]
    public void MissingOptions_FailTheStartupValidation()
    {
        using ServiceProvider provider = Provider(_ => { }, []);

        OptionsValidationException ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("WidgetOptions.Endpoint is required.", ex.Message);
    }

    [Fact]
    public async Task ValidOptions_AreAppliedOnce_WhenTheBusIsBuilt()
    {
        List<WidgetOptions> applied = [];
        await using ServiceProvider provider = Provider(o => { o.Endpoint = "e"; o.Lanes = 3; }, applied);
        provider.GetRequiredService<IStartupValidator>().Validate();
        Assert.Empty(applied);

        _ = provider.GetRequiredService<IMessageBus>();

        WidgetOptions options = Assert.Single(applied);
        Assert.Equal(3, options.Lanes);
        Assert.Same(provider.GetRequiredService<IOptions<WidgetOptions>>().Value, options);
    }
}
