package scanner

import "strings"

// firstNameList holds common given names from many languages (US Social
// Security Administration lists, European, Latin American, Arabic, Persian,
// South and East Asian, African), lower case and without diacritics (names
// are folded before the look-up: "José" matches "jose"). Words that are far
// more often something else in business text (Will, Grant, Chase, Iris,
// place names) are left out: a name that starts with one needs a label.
const firstNameList = `keisha yolanda tyrone deshawn shanice latasha terrell marquis lakisha jamar rasheed tyrell trevon shaniqua monique brianna

james john robert michael william david richard joseph thomas charles christopher daniel matthew anthony mark
donald steven paul andrew joshua kenneth kevin brian george timothy ronald edward jason jeffrey ryan jacob gary
nicholas eric jonathan stephen larry justin scott brandon benjamin samuel gregory alexander frank patrick raymond
jack dennis jerry tyler aaron jose adam nathan henry douglas zachary peter kyle ethan walter noah jeremy christian
keith roger terry gerald harold sean austin carl arthur lawrence dylan jesse jordan bryan billy joe bruce gabriel
logan albert willie alan juan wayne elijah randy roy vincent ralph eugene russell bobby mason philip louis carlos
luis miguel diego liam oliver lucas mateo leo owen caleb hunter evan ian luke wyatt isaac levi hugo omar mary
patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy betty margaret sandra ashley
kimberly emily donna michelle carol amanda dorothy melissa deborah stephanie rebecca sharon laura cynthia kathleen
amy angela shirley anna brenda pamela emma nicole helen samantha katherine christine debra rachel carolyn janet
catherine maria heather diane ruth julie olivia joyce virginia victoria kelly lauren christina joan evelyn judith
megan andrea cheryl hannah jacqueline martha gloria teresa ann sara madison frances kathryn janice jean abigail
alice judy sophia grace denise amber doris marilyn danielle beverly isabella theresa diana natalie brittany
charlotte marie kayla alexis lori jane ava mia harper ella chloe zoe lily aria nora riley layla camila penelope
luna elena sofia valentina lucia ana rosa carmen priya wei li mohammed muhammad ahmed fatima aisha yuki hiroshi
kenji raj amit anita sanjay deepa ivan olga dmitri sven lars ingrid klaus hans pierre claire sophie lukas jonas
finn emil felix max paula giulia marco luca francesca alessandro piotr katarzyna tom tim sam ben dan rob mike bob
bill jim jon steve chris nick alex kate liz beth meg sue jen jess becky

aaliyah abby abdul abdullah abe abel abraham ada adaeze adebayo adele adeline adrian adriana adrienne afua agnes
ahmad ahmet aidan aiden aileen aimee aisling akira akosua alana alasdair alba alberto aleksander aleksandra
alejandra alejandro alessandra alessia alexa alexandra alexandre alfie alfonso alfred alfredo ali alicia alina
alisha alison alistair allan allison alma alonso alvaro amal amara amelia amelie amina amir amira amos anastasia
anders andre andreas andrei andres andy aneesh angelica angelo angus anika anil anja anjali ann-marie anna-maria
anne annette anne-marie annie ansel anton antoine antonia antonio anya aoife arash archie ariana ariel arjun arnav
arne aron arturo arvid asha asher ashok asif aslan astrid ata aurelia aurelien axel ayaan ayana ayesha ayumi aziz

babajide barry bartosz basil bastian bea beatrice beatriz belen benedict benoit bernard bernadette bertrand bethany
bettina bianca bilal birgit bjorn blake blessing bogdan boris bradley brady brendan brenna brent bret brett bridget
brigitte brooke bruno bryce bukola byron

cai caitlin callum calvin cameron camille candace cara carina carla carlo carlton carmela caroline carolina casey
cassandra cecilia cedric celeste celia cesar chandra chantal charlene charlie chiara chidi chinedu chioma christa
christoph christophe ciara cindy claudia claudio clara clarence claude clemens clement cliff clifford clinton
colette colin colleen connor conor constance cora corey corinne cormac courtney craig cristian cristina curtis
cyril

dag dagmar daisuke daisy dale damian damien dana dani daniela daniele danny dario darius darnell darren daryl dave
davide dawit deandre declan deepak deirdre delia demetrius denis derek dermot desmond devin devon dhruv dieter
dimitri dimitrios dina dinesh dirk divya dmitry dolores dominic dominik dominique donovan dora doreen dorothea
duane duncan dustin dwayne

eamon earl ebony edgar edith edmund eduardo edwin efua egon eileen elaine eleanor eleni eli elias elif elisa
elisabeth elise eliza ellen ellie elliot elliott eloise elsa elsie emeka emilia emilio emre enrique enzo eoin erik
erika erin ernest ernesto esme esperanza esra esteban estelle esther ethel eunice eva evelina everett ewa ezra

fabian fabio faisal farah farid farida farrah fatih fatma federico felipe felicia felicity fernando filip filipa
fiona fionn florian folake francis francisco franco francois franz fred freddie frederick freya frida fumiko

gaby gareth garrett gavin gemma genevieve geoffrey georg georgina gerard gerardo gerhard gianluca gianni gideon gil
gilbert gina giorgio giovanni giuseppe gladys glen glenn gonzalo gordon graham greta gretchen guadalupe guillaume
guillermo gulsen gunnar gustav gustavo gwen gwendolyn

habib hadiza hailey hakan hakim halima hamid hamza hana hanna hannes haruka haruki haruto hassan heidi heike helena
helga hemant henri henrik herbert herman hernan hilda hiro hiroko hiroki holly howard hugh humberto hussein

ida ifeoma ignacio igor ikechukwu ilana ilse imani imogen imran inaya ines inga inge irene irina irma isabel
isabelle isaiah isak ishaan ismail isobel ivana ivy iwona

jacinta jackie jade jaime jakob jakub jamal jamie jamila jana janelle janine jared jarrah jasmine jasper javier jay
jayden jeanette jeanne jeff jenna jens jeremiah jerome jesper jesus jill jin joachim joanna joanne joao jocelyn
jodie joel johan johanna johannes jolene jonah jorge jorgen josef josefina josephine josh joy juanita jude jules
julia julian juliana julien juliet julio julius jun june junichi jurgen justine

kaan kai kaito kamal kamala kareem karim karin karina karl karla karolina kasia katarina katharina kathy katie
katrin katrina kay kazuki keiko keira kemal ken kendra kenta kerry khadija khalid kiara kieran kim kimiko kira
kirsten klara kofi kojo kolade kris krishna kristen kristian kristin krzysztof kurt kwame kwabena kyoko

lachlan laila lakshmi lamar lana lara larissa latoya laurence laurent leah lea leandro lee leila lena leon leona
leonard leonardo leonie leopold lesley leslie leticia lewis lila lina lindsay lindsey linnea lionel liv lois lorena
lorenzo lorna lorraine lotte louisa louise lourdes luc lucy ludwig luisa lukasz lydia lynn

mackenzie madeleine madeline magda magdalena maggie magnus mahmoud maia maja makoto malcolm malik mandla manon
manuel manuela mara marc marcel marcela marcia marcin marcos marcus mareike margarita margot mariam marian mariana
marianne mariano marie-claire marina mario marion marisol marius marjorie marlene marta martin martina marvin
masato masha mateusz mathias mathieu matilda matteo matthias maureen maurice mauricio maximilian maya mehdi mehmet
mei melanie melinda meredith michaela michel michele mikael mikhail mila milan milena milo mina minh miriam mirza
misaki mitchell mohamed mohammad moira molly monica monika morten moses moritz mustafa

nadia nadine naledi nana nanami naoki naomi narges nasir natalia natasha nathalie nathaniel naveen neha neil nelson
nestor nia niall nico nicola nicolas nicolai niklas nikhil nikita nikolai nikolaos nils nina nkechi noel noemi
norah noriko nuala nuno nur

octavia odette ola olaf olena oleksandr olivier olumide oren orla oscar osman otto

pablo padraig paolo parisa pascal patrice patrizia paulo pavel pedro perla petra philippa philippe phoebe pia
pietro pilar pooja priscilla pradeep prakash pranav preeti priyanka

qasim quentin quinn

rafael rafal rahim rahul raif rainer ramesh ramon rana randall raquel rashid raul ravi reem reggie reinhard rekha
remi renata rene renee reza rhys ricardo rika riya roberta roberto rocio rodney rodrigo rohan roisin roland rolf
roman romain ronan rory rosalind rosalie rosario rosemary ross rowan roxanne ruben rudolf rui rupert ruta ryo ryota

sabine sabrina sacha sadia sahil saif saira sakura salma salvatore samir samira sana sander sandeep sandro santiago
sasha saskia satoshi saul scarlett sebastian sebastien selin selma sergei sergio seth shane shannon shauna sheila
shelby shirin shira shreya shu siddharth sienna sigrid silas silvia simon simone sinead siobhan siddiqa sina sipho
sixto snezana soren stanislav stefan stefanie stefano stella steffen sunil sunita susanna suzanne svetlana sylvia
sylvie

tadeusz taiwo takashi takeshi tamara tamika tanisha tanya tara tariq tatiana tatjana tayo teodor terrence thabo
thea theo theodore thi thiago thor tiago tiffany timo tobias toby tomas tomasz toni tonya travis trevor tristan
trudy tuan tunde

ulrich ulrike umar una urs uwe

valentin valeria valerie vanessa varun vasily vera veronica veronika vicente vicky victor vijay vikram viktor
viktoria vincenzo violet vivek vivian vladimir

wafa walid wanda warren wendy werner wesley whitney wiktor wilhelm wilma winston wojciech wolfgang

xavier xin xiao ximena

yael yaw yasmin yasmine yasser yelena yeon yosef youssef yuri yusuf yvette yvonne

zahra zainab zara zeynep zofia zoltan zuzana

anh bao binh chen chun duc fang feng guo hai hao hong hua hui jia jian jiang jie jing kang lan lei lian liang lin
ling ming ning qiang qing rong shan sheng tao ting wen xia xue yan yang yi ying yong yu yue yun zhi zhen

ji-ho ji-woo min-jun seo-yeon soo-jin hye-jin jae hyun eun
`

// firstNames returns the given names of firstNameList as a set.
func firstNames() map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Fields(firstNameList) {
		m[f] = true
	}
	return m
}
