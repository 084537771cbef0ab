using Switchboard.Routing;

namespace Switchboard.Tests.Routing;

// The internal TopicPattern: '*' is one segment, '#' any tail (none included) and only last; matching is ordinal.
public sealed class TopicPatternTests
{
    [Theory]
    [InlineData("orders/created", "orders/created", true)]
    [InlineData("orders/created", "orders/updated", false)]
    [InlineData("orders/created", "orders/created/eu", false)]
    [InlineData("orders/created", "orders", false)]
    [InlineData("orders/created", "Orders/created", false)]
    [InlineData("orders", "orders", true)]
    [InlineData("orders", "orders2", false)]
    [InlineData("orders/*", "orders/created", true)]
    [InlineData("orders/*", "orders/updated", true)]
    [InlineData("orders/*", "orders", false)]
    [InlineData("orders/*", "orders/eu/created", false)]
    [InlineData("orders/*", "payments/created", false)]
    [InlineData("orders/*", "ordersx/created", false)]
    [InlineData("*/created", "orders/created", true)]
    [InlineData("*/created", "orders/updated", false)]
    [InlineData("*/created", "created", false)]
    [InlineData("*", "orders", true)]
    [InlineData("*", "orders/created", false)]
    [InlineData("*/*", "a/b", true)]
    [InlineData("*/*", "a", false)]
    [InlineData("*/*", "a/b/c", false)]
    [InlineData("orders/*/created", "orders/eu/created", true)]
    [InlineData("orders/*/created", "orders/eu/updated", false)]
    [InlineData("orders/*/created", "orders/created", false)]
    [InlineData("orders/#", "orders", true)]
    [InlineData("orders/#", "orders/created", true)]
    [InlineData("orders/#", "orders/eu/created", true)]
    [InlineData("orders/#", "orders/eu/created/late", true)]
    [InlineData("orders/#", "ordersx", false)]
    [InlineData("orders/#", "ordersx/created", false)]
    [InlineData("orders/#", "payments/created", false)]
    [InlineData("orders/#", "order", false)]
    [InlineData("#", "orders", true)]
    [InlineData("#", "orders/eu/created", true)]
    [InlineData("*/#", "orders", true)]
    [InlineData("*/#", "orders/eu/created", true)]
    [InlineData("orders/*/#", "orders", false)]
    [InlineData("orders/*/#", "orders/eu", true)]
    [InlineData("orders/*/#", "orders/eu/created/late", true)]
    [InlineData("a/b/#", "a/b", true)]
    [InlineData("a/b/#", "a", false)]
    [InlineData("a/b/#", "a/c/d", false)]
    public void Matches_FollowsTheWildcardRules(string pattern, string topic, bool expected)
    {
        TopicPattern parsed = TopicPattern.Parse(pattern);

        Assert.Equal(expected, parsed.Matches(topic));
        Assert.Equal(pattern, parsed.Pattern);
        Assert.Equal(pattern, parsed.ToString());
    }

    [Theory]
    [InlineData("a/#/b")]
    [InlineData("#/a")]
    [InlineData("a*")]
    [InlineData("*a")]
    [InlineData("a/b*")]
    [InlineData("a#")]
    [InlineData("a/#b")]
    [InlineData("##")]
    [InlineData("**")]
    [InlineData("a//b")]
    [InlineData("/a")]
    [InlineData("a/")]
    [InlineData("/")]
    [InlineData("")]
    [InlineData(" ")]
    public void Parse_InvalidPattern_ThrowsArgumentException(string pattern)
    {
        ArgumentException error = Assert.ThrowsAny<ArgumentException>(() => TopicPattern.Parse(pattern));

        Assert.IsNotType<ArgumentNullException>(error);
    }

    [Fact]
    public void Parse_Null_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => TopicPattern.Parse(null!));
    }

    [Theory]
    [InlineData("orders/*")]
    [InlineData("orders/#")]
    [InlineData("*")]
    [InlineData("#")]
    [InlineData("orders*")]
    [InlineData("a/#/b")]
    public void ValidateTopic_WithAWildcard_ThrowsArgumentException(string topic)
    {
        ArgumentException error = Assert.Throws<ArgumentException>(() => TopicPattern.ValidateTopic(topic));

        Assert.Contains("wildcard", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("orders")]
    [InlineData("orders/created")]
    [InlineData("orders/eu/created")]
    public void ValidateTopic_LiteralTopic_IsAccepted(string topic)
    {
        TopicPattern.ValidateTopic(topic);
    }
}
