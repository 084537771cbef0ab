using System.Text.RegularExpressions;

namespace Switchboard.Operations;

/// <summary>Removes what looks like a credential from text shown to operators: the user info of a URI and <c>password=</c> pairs.</summary>
internal static partial class Redaction
{
    public static string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = UserInfo().Replace(text, "://***@");
        return KeyValue().Replace(text, m => m.Groups[1].Value + "=***");
    }

    [GeneratedRegex(@"://[^/@\s]+@", RegexOptions.CultureInvariant)]
    private static partial Regex UserInfo();

    [GeneratedRegex(@"\b(password|pwd|user id|uid|username|user|access ?key|secret|token)\s*=\s*[^;,\s]*", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex KeyValue();
}
