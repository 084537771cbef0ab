using System.Collections.Frozen;
using System.Reflection;

namespace Switchboard.Dashboard;

/// <summary>The page's files, embedded in the assembly: nothing to build or fetch at install.</summary>
internal static class DashboardAssets
{
    private static readonly FrozenDictionary<string, (byte[] Content, string ContentType)> Files = Load();

    public static bool TryGet(string name, out byte[] content, out string contentType)
    {
        if (Files.TryGetValue(name, out (byte[] Content, string ContentType) file))
        {
            (content, contentType) = file;
            return true;
        }

        content = [];
        contentType = string.Empty;
        return false;
    }

    public static string IndexHtml => System.Text.Encoding.UTF8.GetString(Files["index.html"].Content);

    private static FrozenDictionary<string, (byte[], string)> Load()
    {
        Assembly assembly = typeof(DashboardAssets).Assembly;
        const string prefix = "Switchboard.Dashboard.";
        Dictionary<string, (byte[], string)> files = new(StringComparer.Ordinal);
        foreach (string resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            using Stream stream = assembly.GetManifestResourceStream(resource)!;
            using MemoryStream copy = new();
            stream.CopyTo(copy);
            string name = resource[prefix.Length..];
            string type = Path.GetExtension(name) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".svg" => "image/svg+xml",
                _ => "application/octet-stream",
            };
            files[name] = (copy.ToArray(), type);
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
