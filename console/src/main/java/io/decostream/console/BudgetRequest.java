package io.decostream.console;

import io.decostream.schemas.BudgetSpec;
import java.util.Map;

/**
 * A token budget chosen in the console's budget control (issue 21 points 1 and 4), checked with the
 * encoder's own rules ({@link BudgetSpec}) before anything is produced, so a budget the page sends
 * is one every encoder applies and a bad one is refused on the page with the reason.
 *
 * @param streamId the stream whose budget changes (the BudgetControl's key)
 * @param spec the budget as typed, stripped of surrounding white space
 * @param checked the parsed budget
 */
public record BudgetRequest(String streamId, String spec, BudgetSpec checked) {

  public BudgetRequest {
    String bad = BudgetSpec.streamIdProblem(streamId);
    if (bad != null) {
      throw new IllegalArgumentException(
          streamId == null || streamId.isBlank() ? "choose a stream first" : bad);
    }
    if (checked == null) {
      throw new IllegalArgumentException("the budget " + spec + " was not checked");
    }
  }

  /**
   * The request from the page's JSON body {@code {"budget": "avg:6"}} for {@code streamId}, checked
   * against the stream's patch grid ({@code patchGrid} 0 when no frame's tokens were seen yet: then
   * only the spec's form is checked here and the encoder checks the grid).
   *
   * @throws IllegalArgumentException with the message to show when the budget is refused
   */
  public static BudgetRequest fromJson(String streamId, Map<String, Object> body, int patchGrid) {
    if (body == null) {
      throw new IllegalArgumentException("the request has no JSON body");
    }
    Object budget = body.get("budget");
    if (budget != null && !(budget instanceof String)) {
      throw new IllegalArgumentException("'budget' must be a string, e.g. \"avg:8\"");
    }
    String spec = budget == null ? null : ((String) budget).strip();
    BudgetSpec checked = BudgetSpec.parse(spec, patchGrid);
    return new BudgetRequest(streamId, spec, checked);
  }
}
