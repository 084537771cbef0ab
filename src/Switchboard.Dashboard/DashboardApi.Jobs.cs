using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Switchboard.Operations;

namespace Switchboard.Dashboard;

/// <summary>Bulk replay and delete as background jobs the page polls: progress after each message, and cancel.</summary>
internal sealed partial class DashboardApi
{
    private readonly DashboardJobs _jobs = new();

    /// <summary><c>POST api/jobs</c> with <c>{ action: "replay"|"delete", source, ids | matching + filter }</c>: 202 and the job.</summary>
    public async Task<IResult> StartJobAsync(HttpContext context, CancellationToken cancellationToken)
    {
        (OperationsSource? source, SettleRequest? request, IResult? error) = await ReadSettleAsync(context, cancellationToken).ConfigureAwait(false);
        if (error is not null)
        {
            return error;
        }

        bool? replay = request!.Action switch
        {
            "replay" => true,
            "delete" => false,
            _ => null,
        };
        if (replay is null)
        {
            return Problem(StatusCodes.Status400BadRequest, "'action' must be \"replay\" or \"delete\".");
        }

        OperationsSource found = source!;
        // The job outlives the request (closing the page does not stop it); the app stopping does, after the current message.
        CancellationToken stopping = context.RequestServices.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        DashboardJob? job = _jobs.TryStart(found, replay.Value, ct => SelectAsync(found, request, ct), stopping, out DashboardJob? running);
        NoStore(context.Response);
        if (job is null)
        {
            return Problem(StatusCodes.Status409Conflict, $"A {running!.Action} job ({running.Id}) is still running on {found.Id}: wait for it, or cancel it.");
        }

        return Results.Json(job.View(), Json, statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary><c>GET api/jobs[?source=S]</c>: the jobs kept (running, and finished within the hour), newest first.</summary>
    public IResult ListJobs(HttpContext context)
    {
        string? source = context.Request.Query["source"];
        NoStore(context.Response);
        return Results.Json(_jobs.List(string.IsNullOrEmpty(source) ? null : source).Select(j => j.View()).ToArray(), Json);
    }

    /// <summary><c>GET api/jobs/{id}</c>: one job's progress.</summary>
    public IResult GetJob(HttpContext context, string id)
    {
        NoStore(context.Response);
        return _jobs.Find(id) is { } job ? Results.Json(job.View(), Json) : Problem(StatusCodes.Status404NotFound, $"No job '{id}' (finished jobs are kept for an hour).");
    }

    /// <summary><c>POST api/jobs/{id}/cancel</c>: stops the job after the message it is settling.</summary>
    public async Task<IResult> CancelJobAsync(HttpContext context, string id)
    {
        if (await CheckWriteAsync(context).ConfigureAwait(false) is { } refused)
        {
            return refused;
        }

        if (_jobs.Find(id) is not { } job)
        {
            return Problem(StatusCodes.Status404NotFound, $"No job '{id}'.");
        }

        job.Cancel();
        NoStore(context.Response);
        return Results.Json(job.View(), Json);
    }
}
