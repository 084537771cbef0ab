using Switchboard.Operations;

namespace Switchboard.Dashboard;

/// <summary>Options of the operations dashboard (<c>app.MapSwitchboardDashboard(...)</c>).</summary>
public sealed class SwitchboardDashboardOptions
{
    /// <summary>
    /// Gets or sets whether the dashboard only shows: replay and delete are refused (HTTP 403) and their buttons hidden.
    /// The default value is <see langword="false"/>.
    /// </summary>
    public bool ReadOnly { get; set; }

    /// <summary>Gets or sets the title shown on the page. The default value is <c>Switchboard</c>.</summary>
    public string Title { get; set; } = "Switchboard";

    /// <summary>
    /// Gets or sets what the dashboard shows. The default is the application's <see cref="IMessageBus"/>
    /// (<see cref="OperationsBusExtensions.GetOperations(IMessageBus, IEnumerable{OperationsSource})"/>) with
    /// <see cref="ExtraSources"/> added.
    /// </summary>
    public Func<IServiceProvider, SwitchboardOperations>? Operations { get; set; }

    /// <summary>Gets more sources to show beside the bus's own (another consumer group, another transport).</summary>
    public IList<OperationsSource> ExtraSources { get; } = [];

    /// <summary>Gets or sets the most dead letters a bulk replay or delete of "all matching" selects. The default value is 10,000.</summary>
    public int BulkLimit { get; set; } = 10_000;
}
