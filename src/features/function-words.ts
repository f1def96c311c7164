/**
 * English function words: closed-class words whose rates are a classic,
 * topic-independent stylometric signal. Content words are reduced to their
 * shape in "distorted" n-grams (Stamatatos' text distortion), so those
 * n-grams describe how sentences are built, not what they are about.
 */
export const FUNCTION_WORDS: ReadonlySet<string> = new Set(
  `a about above across after afterwards again against all almost alone along already also although always am among
  an and another any anyhow anyone anything anyway anywhere are around as at be became because become becomes been
  before beforehand behind being below beside besides between beyond both but by can cannot could did do does doing
  done down during each either else elsewhere enough even ever every everyone everything everywhere except few for
  former formerly from further had has have having he hence her here hereafter hereby herein hers herself him himself
  his how however i if in indeed instead into is it its itself just last latter least less many may me meanwhile might
  mine more moreover most mostly much must my myself namely neither never nevertheless next no nobody none noone nor
  not nothing now nowhere of off often on once one only onto or other others otherwise our ours ourselves out over
  overall own per perhaps rather same several she should since so some somehow someone something sometime sometimes
  somewhere still such than that the their theirs them themselves then thence there thereafter thereby therefore
  therein thereupon these they this those though through throughout thus to together too toward towards under until
  up upon us very via was we well were what whatever when whence whenever where whereas whereby wherever whether which
  while who whoever whole whom whose why will with within without would yet you your yours yourself yourselves said
  says say according additionally furthermore ultimately notably importantly crucial significant`
    .split(/\s+/)
    .filter(Boolean),
);

export const FIRST_PERSON: ReadonlySet<string> = new Set(['i', 'me', 'my', 'mine', 'we', 'us', 'our', 'ours']);
export const SECOND_PERSON: ReadonlySet<string> = new Set(['you', 'your', 'yours']);
