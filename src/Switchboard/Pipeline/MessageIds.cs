namespace Switchboard.Pipeline;

/// <summary>Message ids: version 7 GUIDs, sortable by creation time, in their 32-digit form.</summary>
internal static class MessageIds
{
    public static string New() => Guid.CreateVersion7().ToString("N");
}
